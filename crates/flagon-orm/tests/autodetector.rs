//! The autodetector as a pure function: states in, operations out.

use flagon_orm::migrations::{
    detect_changes, ConstraintState, FieldState, GivenAnswers, IndexState, MigrationError,
    ModelState, Operation, ProjectState, Questioner, Rename,
};
use flagon_orm::{FieldDefault, FieldKind, Model};

fn id() -> FieldState {
    FieldState::new("id", FieldKind::BigInteger)
        .primary_key()
        .auto()
}

fn question() -> ModelState {
    ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(FieldState::new("text", FieldKind::String).max_length(200))
}

fn state(models: &[ModelState]) -> ProjectState {
    let mut state = ProjectState::new();
    for model in models {
        state.add_model(model.clone());
    }
    state
}

fn detect(from: &[ModelState], to: &[ModelState]) -> Vec<Operation> {
    detect_with(from, to, &mut GivenAnswers::default())
}

fn detect_with(from: &[ModelState], to: &[ModelState], q: &mut dyn Questioner) -> Vec<Operation> {
    let changes = detect_changes(&state(from), &state(to), q).expect("changes");
    changes.apps.into_values().flatten().collect()
}

/// Says yes to every rename it is asked about, and counts the questions.
#[derive(Default)]
struct YesToAll {
    asked: Vec<String>,
    default: Option<FieldDefault>,
}

impl Questioner for YesToAll {
    fn ask_rename_model(&mut self, _: &str, old: &ModelState, new: &ModelState, _: bool) -> bool {
        self.asked.push(format!("{}->{}", old.name, new.name));
        true
    }

    fn ask_rename_field(
        &mut self,
        _: &str,
        model: &str,
        old: &FieldState,
        new: &FieldState,
        similar: bool,
    ) -> bool {
        self.asked
            .push(format!("{model}.{}->{}", old.name, new.name));
        similar
    }

    fn ask_not_null_default(
        &mut self,
        _: &str,
        _: &str,
        _: &FieldState,
        _: bool,
    ) -> Option<FieldDefault> {
        self.default.clone()
    }
}

#[test]
fn identical_states_need_nothing() {
    assert!(detect(&[question()], &[question()]).is_empty());
    assert!(detect(&[], &[]).is_empty());
}

#[test]
fn a_new_model_is_created_and_a_gone_one_deleted() {
    assert_eq!(
        detect(&[], &[question()]),
        vec![Operation::create_model(question())]
    );
    assert_eq!(
        detect(&[question()], &[]),
        vec![Operation::delete_model("Question")]
    );
}

#[test]
fn a_nullable_or_defaulted_field_is_added_without_asking() {
    let votes = FieldState::new("votes", FieldKind::Integer).default(0);
    let note = FieldState::new("note", FieldKind::Text).null();
    let to = question().field(votes.clone()).field(note.clone());
    assert_eq!(
        detect(&[question()], &[to]),
        vec![
            Operation::add_field("Question", votes),
            Operation::add_field("Question", note)
        ]
    );
}

#[test]
fn a_not_null_field_without_default_needs_a_one_off_value() {
    let votes = FieldState::new("votes", FieldKind::Integer);
    let to = question().field(votes.clone());
    let err = detect_changes(
        &state(&[question()]),
        &state(std::slice::from_ref(&to)),
        &mut GivenAnswers::default(),
    )
    .expect_err("no default, no answer");
    assert!(matches!(err, MigrationError::NeedsAnswer { .. }));
    assert!(err.to_string().contains("Question.votes"), "{err}");

    let mut answers = YesToAll {
        default: Some(FieldDefault::Int(3)),
        ..YesToAll::default()
    };
    assert_eq!(
        detect_with(&[question()], &[to], &mut answers),
        vec![Operation::add_field("Question", votes).one_off_default(3)]
    );
}

#[test]
fn a_removed_field_is_removed_and_flagged_as_losing_data() {
    let from = question().field(FieldState::new("votes", FieldKind::Integer));
    let ops = detect(std::slice::from_ref(&from), &[question()]);
    assert_eq!(ops, vec![Operation::remove_field("Question", "votes")]);
    assert!(ops[0].data_loss(&state(&[from]), "polls").is_some());
}

#[test]
fn a_changed_field_is_altered() {
    let to = ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(
            FieldState::new("text", FieldKind::String)
                .max_length(100)
                .index(),
        );
    let ops = detect(&[question()], &[to]);
    assert_eq!(
        ops,
        vec![Operation::alter_field(
            "Question",
            FieldState::new("text", FieldKind::String)
                .max_length(100)
                .index()
        )]
    );
    assert_eq!(
        ops[0].data_loss(&state(&[question()]), "polls"),
        Some("the column gets shorter; longer values fail or are cut")
    );
}

#[test]
fn a_rename_is_never_guessed() {
    let text = FieldState::new("text", FieldKind::String)
        .max_length(200)
        .default("");
    let from = ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(text);
    let body = FieldState::new("body", FieldKind::String)
        .max_length(200)
        .default("");
    let to = ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(body.clone());
    let changes = detect_changes(&state(&[from]), &state(&[to]), &mut GivenAnswers::default())
        .expect("changes");
    assert_eq!(
        changes.apps["polls"],
        vec![
            Operation::remove_field("Question", "text"),
            Operation::add_field("Question", body),
        ]
    );
    assert_eq!(changes.notes.len(), 1);
    assert!(
        changes.notes[0].contains("--rename Question.text=body"),
        "{}",
        changes.notes[0]
    );
}

#[test]
fn a_rename_is_asked_and_taken() {
    let to = ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(FieldState::new("body", FieldKind::String).max_length(200));
    let mut questioner = YesToAll::default();
    assert_eq!(
        detect_with(&[question()], &[to], &mut questioner),
        vec![Operation::rename_field("Question", "text", "body")]
    );
    assert_eq!(questioner.asked, vec!["Question.text->body"]);
}

#[test]
fn a_given_rename_with_a_changed_definition_renames_then_alters() {
    let to = ModelState::new("polls", "Question", "polls_question")
        .field(id())
        .field(FieldState::new("body", FieldKind::Text));
    let mut answers = GivenAnswers {
        renames: vec!["Question.text=body".parse().expect("rename")],
        ..GivenAnswers::default()
    };
    assert_eq!(
        detect_with(&[question()], &[to], &mut answers),
        vec![
            Operation::rename_field("Question", "text", "body"),
            Operation::alter_field("Question", FieldState::new("body", FieldKind::Text)),
        ]
    );
}

#[test]
fn a_model_rename_moves_its_default_table_and_keeps_fields() {
    let poll = ModelState::new("polls", "Poll", "polls_poll")
        .field(id())
        .field(FieldState::new("text", FieldKind::String).max_length(200));
    let mut answers = GivenAnswers {
        renames: vec![Rename::Model {
            old: "Question".into(),
            new: "Poll".into(),
        }],
        ..GivenAnswers::default()
    };
    assert_eq!(
        detect_with(&[question()], &[poll], &mut answers),
        vec![Operation::rename_model("Question", "Poll")]
    );
}

#[test]
fn a_model_renamed_but_kept_in_its_table_says_so() {
    let poll = ModelState::new("polls", "Poll", "polls_question")
        .field(id())
        .field(FieldState::new("text", FieldKind::String).max_length(200));
    let mut questioner = YesToAll::default();
    assert_eq!(
        detect_with(&[question()], &[poll], &mut questioner),
        vec![
            Operation::rename_model("Question", "Poll"),
            Operation::alter_model_table("Poll", "polls_question"),
        ]
    );
}

#[test]
fn indexes_and_constraints_are_added_and_removed_around_field_changes() {
    let from = question()
        .field(FieldState::new("slug", FieldKind::String).max_length(50))
        .index(IndexState::new(
            "polls_question_text_slug_idx",
            &["text", "slug"],
        ));
    let to = question().constraint(ConstraintState::unique(
        "polls_question_text_uniq",
        &["text"],
    ));
    assert_eq!(
        detect(&[from], &[to]),
        vec![
            Operation::remove_index("Question", "polls_question_text_slug_idx"),
            Operation::remove_field("Question", "slug"),
            Operation::add_constraint(
                "Question",
                ConstraintState::unique("polls_question_text_uniq", &["text"])
            ),
        ]
    );
}

#[test]
fn tightening_null_asks_for_a_value_for_the_null_rows() {
    let from = question().field(FieldState::new("note", FieldKind::Text).null());
    let to = question().field(FieldState::new("note", FieldKind::Text));
    let mut questioner = YesToAll {
        default: Some("none".into()),
        ..YesToAll::default()
    };
    assert_eq!(
        detect_with(&[from], &[to], &mut questioner),
        vec![
            Operation::alter_field("Question", FieldState::new("note", FieldKind::Text))
                .one_off_default("none")
        ]
    );
}

#[test]
fn each_app_gets_its_own_operations() {
    let post = ModelState::new("blog", "Post", "blog_post").field(id());
    let changes = detect_changes(
        &ProjectState::new(),
        &state(&[question(), post.clone()]),
        &mut GivenAnswers::default(),
    )
    .expect("changes");
    assert_eq!(changes.apps.len(), 2);
    assert_eq!(changes.apps["blog"], vec![Operation::create_model(post)]);
}

#[test]
fn renames_parse_from_the_command_line() {
    assert_eq!(
        "Question.text=body".parse::<Rename>(),
        Ok(Rename::Field {
            model: "Question".into(),
            old: "text".into(),
            new: "body".into()
        })
    );
    assert_eq!(
        "Question=Poll".parse::<Rename>(),
        Ok(Rename::Model {
            old: "Question".into(),
            new: "Poll".into()
        })
    );
    for bad in ["text", "=x", "a.=b", "a=b.c", ".a=b"] {
        let err = bad.parse::<Rename>().expect_err(bad);
        assert!(err.contains("OldModel=NewModel"), "{err}");
    }
}

#[derive(Model, Debug)]
#[model(app = "shop", unique_together = [["name", "size"]], indexes = [["size", "price"]])]
struct Product {
    id: i64,
    #[field(max_length = 80, db_column = "title")]
    name: String,
    #[field(default = "M", max_length = 2)]
    size: String,
    #[field(default = 0, index)]
    price: i32,
    #[field(unique)]
    code: Option<String>,
}

#[test]
fn model_metadata_becomes_state() {
    let model = ModelState::from_meta(Product::META);
    assert_eq!(model.table, "shop_product");
    let name = model.get_field("name").expect("name");
    assert_eq!((name.column.as_str(), name.max_length), ("title", Some(80)));
    assert_eq!(
        model.get_field("size").and_then(|f| f.default.clone()),
        Some("M".into())
    );
    assert!(model
        .get_field("price")
        .is_some_and(|f| f.index && f.default == Some(FieldDefault::Int(0))));
    assert!(model.get_field("code").is_some_and(|f| f.unique && f.null));
    assert_eq!(
        model.constraints,
        vec![ConstraintState::unique(
            "shop_product_title_size_uniq",
            &["name", "size"]
        )]
    );
    assert_eq!(
        model.indexes,
        vec![IndexState::new(
            "shop_product_size_price_idx",
            &["size", "price"]
        )]
    );
}

#[derive(Model, Debug)]
#[model(app = "shop")]
struct Invoice {
    id: i64,
    #[field(max_digits = 8, decimal_places = 2, default = 0)]
    total: flagon_orm::Decimal,
    reference: flagon_orm::Uuid,
    data: Option<serde_json::Value>,
}

#[test]
fn decimal_uuid_and_json_fields_are_written_out() {
    let model = ModelState::from_meta(Invoice::META);
    let total = model.get_field("total").expect("total");
    assert_eq!(
        (total.kind, total.max_digits, total.decimal_places),
        (FieldKind::Decimal, Some(8), Some(2))
    );
    let migration = flagon_orm::migrations::Migration::new("shop", "0001_initial")
        .operation(Operation::create_model(model));
    let source =
        flagon_orm::migrations::migration_source(&migration, "flagon_orm").expect("source");
    assert!(
        source.contains(
            r#"FieldState::new("total", FieldKind::Decimal).decimal(8, 2).default(0_i64)"#
        ),
        "{source}"
    );
    assert!(
        source.contains(r#"FieldState::new("reference", FieldKind::Uuid)"#),
        "{source}"
    );
    assert!(
        source.contains(r#"FieldState::new("data", FieldKind::Json).null()"#),
        "{source}"
    );
}

fn priced() -> ModelState {
    question()
        .field(FieldState::new("price", FieldKind::Integer))
        .field(FieldState::new("live", FieldKind::Boolean))
}

#[test]
fn check_and_conditional_unique_constraints_are_added_changed_and_removed() {
    let check = ConstraintState::check("polls_question_price_ok", "price >= 0");
    let unique =
        ConstraintState::unique("polls_question_live_text", &["text"]).condition("live = TRUE");
    assert_eq!(
        detect(
            &[priced()],
            &[priced()
                .constraint(check.clone())
                .constraint(unique.clone())]
        ),
        vec![
            Operation::add_constraint("Question", check.clone()),
            Operation::add_constraint("Question", unique.clone()),
        ]
    );
    // A changed condition: the old constraint goes, the new one comes.
    let stricter = ConstraintState::check("polls_question_price_ok", "price > 0");
    assert_eq!(
        detect(
            &[priced().constraint(check.clone())],
            &[priced().constraint(stricter.clone())]
        ),
        vec![
            Operation::remove_constraint("Question", "polls_question_price_ok"),
            Operation::add_constraint("Question", stricter),
        ]
    );
    assert_eq!(
        detect(&[priced().constraint(unique)], &[priced()]),
        vec![Operation::remove_constraint(
            "Question",
            "polls_question_live_text"
        )]
    );
}

#[test]
fn a_renamed_field_is_renamed_in_constraint_conditions() {
    let model = priced().constraint(ConstraintState::check("price_ok", "price >= 0 AND live"));
    let mut state = state(&[model]);
    state
        .apply(
            "polls",
            &Operation::rename_field("Question", "price", "cost"),
        )
        .expect("renamed");
    let model = state.model("polls", "Question").expect("model");
    assert_eq!(
        model.constraints[0].condition.as_deref(),
        Some("cost >= 0 AND live")
    );
}

#[test]
fn a_malformed_or_unknown_condition_is_refused_by_the_migration() {
    for (condition, says) in [
        ("price >=", "malformed"),
        ("cost > 0", "does not have"),
        ("price > 'a\\b'", "backslash"),
    ] {
        let mut state = state(&[priced()]);
        let err = state
            .apply(
                "polls",
                &Operation::add_constraint("Question", ConstraintState::check("c", condition)),
            )
            .expect_err(condition);
        assert!(err.to_string().contains(says), "{condition}: {err}");
    }
}

#[derive(Model, Debug, Clone)]
#[model(
    app = "shop",
    constraints = [
        unique(fields = ["name"], condition = "size IS NOT NULL", name = "shop_sized_name"),
        check(condition = "size IN (1, 2, 3) OR size IS NULL", name = "shop_sized_size"),
    ]
)]
struct Sized {
    id: i64,
    #[field(max_length = 20)]
    name: String,
    size: Option<i32>,
}

#[test]
fn model_constraints_become_state() {
    let model = ModelState::from_meta(Sized::META);
    assert_eq!(
        model.constraints,
        vec![
            ConstraintState::unique("shop_sized_name", &["name"]).condition("size IS NOT NULL"),
            ConstraintState::check("shop_sized_size", "size IN (1, 2, 3) OR size IS NULL"),
        ]
    );
}
