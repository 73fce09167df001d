//! Correlated subqueries of a model over itself (Django's `Exists`,
//! `Subquery` and `OuterRef` on the same model), on every backend: the
//! inner query's table gets an alias, its own columns are read through
//! it and outer references through the outer query's table or alias, at
//! every depth; relation hops, JSON lookups, functions and ordering inside
//! the inner query read the inner row; updates and deletes read the table
//! they write.

mod support;

use flagon_orm::functions::length;
use flagon_orm::query::subquery::{exists, subquery, OuterRef};
use flagon_orm::{ForeignKey, ManyToMany, Model, ModelExt, QuerySet};
use support::{on_each_backend, TestDb};

#[derive(Model, Debug, Clone)]
#[model(app = "staff")]
struct Skill {
    id: i64,
    #[field(max_length = 20)]
    name: String,
}

// `skills` is read through `Employee::SKILLS`, not the struct's field.
#[allow(dead_code)]
#[derive(Model, Debug, Clone)]
#[model(app = "staff")]
struct Employee {
    id: i64,
    #[field(max_length = 20)]
    name: String,
    salary: i32,
    #[field(on_delete = "cascade")]
    manager: Option<ForeignKey<Employee>>,
    top_report: Option<i64>,
    profile: serde_json::Value,
    skills: ManyToMany<Skill>,
}

/// Ada (300) manages Bo (200, rust) and Eve (350, web); Bo manages Cid
/// (100, rust); Cid manages Dee (60, web). Fay (120) manages no one and
/// has no manager. Saved in that order: Ada, Bo, Eve, Cid, Dee, Fay.
async fn setup(t: &TestDb) {
    flagon_orm::schema::create_tables(&t.db, &[Skill::META, Employee::META])
        .await
        .unwrap_or_else(|err| panic!("{}: create tables: {err}", t.backend));
    let mut rust = Skill {
        id: 0,
        name: "rust".into(),
    };
    rust.save(&t.db).await.unwrap();
    let mut saved: Vec<Employee> = Vec::new();
    for (name, salary, manager, team, skilled) in [
        ("Ada", 300, None, "core", false),
        ("Bo", 200, Some("Ada"), "core", true),
        ("Eve", 350, Some("Ada"), "web", false),
        ("Cid", 100, Some("Bo"), "core", true),
        ("Dee", 60, Some("Cid"), "web", false),
        ("Fay", 120, None, "", false),
    ] {
        let manager = manager.map(|manager: &str| {
            let boss = saved.iter().find(|e| e.name == manager).unwrap();
            ForeignKey::to(boss)
        });
        let profile = if team.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({ "team": team })
        };
        let mut employee = Employee {
            id: 0,
            name: name.into(),
            salary,
            manager,
            top_report: None,
            profile,
            skills: ManyToMany::new(),
        };
        employee
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{}: save {name}: {err}", t.backend));
        if skilled {
            Employee::SKILLS
                .add(&t.db, &employee, &[&rust])
                .await
                .unwrap();
        }
        saved.push(employee);
    }
}

/// The names of the employees `query` finds, by name.
async fn names(t: &TestDb, query: QuerySet<Employee>) -> Vec<String> {
    query
        .order_by(Employee::NAME.asc())
        .values_list(&t.db, (Employee::NAME,))
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", t.backend))
        .into_iter()
        .map(|(name,)| name)
        .collect()
}

/// The employees the outer row manages.
fn reports() -> QuerySet<Employee> {
    Employee::objects().filter(Employee::MANAGER.f().eq(OuterRef::pk().nullable()))
}

#[tokio::test]
async fn exists_over_the_same_model_reads_the_inner_and_the_outer_row_apart() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Managers: employees someone reports to.
        let managers = Employee::objects().filter(exists(reports()));
        assert_eq!(names(&t, managers).await, ["Ada", "Bo", "Cid"], "{b}");
        // An ordering cannot change whether a row exists: it is dropped
        // (as Django's Exists drops it), unless an offset depends on it.
        let ordered = Employee::objects().filter(exists(reports().order_by(Employee::NAME.desc())));
        let (sql, _) = ordered
            .to_sql(&t.db)
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!sql.contains("ORDER BY"), "{b}: {sql}");
        let skipping = Employee::objects().filter(exists(
            reports().order_by(Employee::SALARY.asc()).slice(1..),
        ));
        let (sql, _) = skipping
            .to_sql(&t.db)
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(sql.contains("ORDER BY"), "{b}: {sql}");
        // Ada has two reports, the others one.
        assert_eq!(names(&t, skipping).await, ["Ada"], "{b}");
        // The inner row's salary against the outer row's: managers with a
        // report who earns more than they do.
        let outearned = Employee::objects().filter(exists(
            reports().filter(Employee::SALARY.f().gt(OuterRef::of(Employee::SALARY))),
        ));
        assert_eq!(names(&t, outearned).await, ["Ada"], "{b}");
        // Functions over both rows: a report whose name is as long as
        // the manager's (Ada: Eve; Cid: Dee).
        let same_length =
            Employee::objects()
                .filter(exists(reports().filter(
                    length(Employee::NAME.f()).eq(length(OuterRef::of(Employee::NAME))),
                )));
        assert_eq!(names(&t, same_length).await, ["Ada", "Cid"], "{b}");
        // A JSON lookup on the inner row: managers of someone on "web".
        let web = Employee::objects().filter(exists(
            reports().filter(Employee::PROFILE.key("team").eq("web")),
        ));
        assert_eq!(names(&t, web).await, ["Ada", "Cid"], "{b}");
        // A many-to-many hop from the inner row: managers of a rustacean.
        let rust = Employee::objects().filter(exists(
            reports().filter(Employee::SKILLS.any(Skill::NAME.eq("rust"))),
        ));
        assert_eq!(names(&t, rust).await, ["Ada", "Bo"], "{b}");
        // A forward hop from the inner row, with the outer reference
        // inside it: employees with a report of a report (Ada: Cid, Bo: Dee).
        let grand = Employee::objects()
            .filter(exists(Employee::objects().filter(
                Employee::MANAGER.has(Employee::MANAGER.f().eq(OuterRef::pk().nullable())),
            )));
        assert_eq!(names(&t, grand).await, ["Ada", "Bo"], "{b}");
        // A reverse hop from the inner row, the outer reference inside it
        // naming the outer row (not the report): a report of a report earns
        // at least a third of the outer row's salary (Ada: Cid, 100 of 300;
        // Bo: Dee earns 60, less than a third of 200).
        let third = Employee::objects().filter(exists(
            reports().filter(
                Employee::MANAGER
                    .reverse_any(Employee::SALARY.f().gte(OuterRef::of(Employee::SALARY) / 3)),
            ),
        ));
        assert_eq!(names(&t, third).await, ["Ada"], "{b}");
        // A subquery of the model over itself inside select_related's
        // joined query (the outer columns are qualified there).
        let joined = Employee::objects()
            .select_related(Employee::MANAGER)
            .filter(exists(reports()))
            .order_by(Employee::NAME.asc())
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let bosses: Vec<Option<String>> = joined
            .iter()
            .map(|e| {
                e.manager
                    .as_ref()
                    .and_then(|m| m.get())
                    .map(|m| m.name.clone())
            })
            .collect();
        assert_eq!(bosses, [None, Some("Ada".into()), Some("Bo".into())], "{b}");
        // Still refused: an OuterRef to another model, and one outside a
        // subquery (also inside a relation hop).
        let wrong = Employee::objects()
            .filter(exists(
                Employee::objects().filter(Employee::ID.f().eq(OuterRef::of(Skill::ID))),
            ))
            .all(&t.db)
            .await;
        assert!(
            matches!(wrong, Err(flagon_orm::OrmError::InvalidQuery { .. })),
            "{b}: {wrong:?}"
        );
        let outside = Employee::objects()
            .filter(Employee::MANAGER.has(Employee::MANAGER.f().eq(OuterRef::pk().nullable())))
            .all(&t.db)
            .await;
        assert!(
            matches!(outside, Err(flagon_orm::OrmError::InvalidQuery { .. })),
            "{b}: {outside:?}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn subquery_over_the_same_model_annotates_filters_and_orders() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Each employee with the name of their best-paid report.
        let top = subquery(reports().order_by(Employee::SALARY.desc()), Employee::NAME);
        let rows = Employee::objects()
            .order_by(Employee::ID.asc())
            .annotate(top)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let tops: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|(e, top)| (e.name.as_str(), top.as_deref()))
            .collect();
        assert_eq!(
            tops,
            [
                ("Ada", Some("Eve")),
                ("Bo", Some("Cid")),
                ("Eve", None),
                ("Cid", Some("Dee")),
                ("Dee", None),
                ("Fay", None)
            ],
            "{b}"
        );
        // The next employee (by id) with the same manager, as "the next
        // post by the same author": a NULL manager matches no one.
        let next = subquery(
            Employee::objects()
                .filter(Employee::MANAGER.f().eq(OuterRef::of(Employee::MANAGER)))
                .filter(Employee::ID.f().gt(OuterRef::of(Employee::ID)))
                .order_by(Employee::ID.asc()),
            Employee::NAME,
        );
        let rows = Employee::objects()
            .order_by(Employee::ID.asc())
            .annotate(next)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let nexts: Vec<Option<&str>> = rows.iter().map(|(_, next)| next.as_deref()).collect();
        assert_eq!(nexts, [None, Some("Eve"), None, None, None, None], "{b}");
        // Filtered and ordered by the best-paid report's salary.
        let top_salary = || {
            subquery(
                reports().order_by(Employee::SALARY.desc()),
                Employee::SALARY,
            )
        };
        let rich = Employee::objects()
            .filter(top_salary().gt(Some(80)))
            .order_by(top_salary().asc())
            .values_list(&t.db, (Employee::NAME,))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(rich, [("Bo".to_string(),), ("Ada".to_string(),)], "{b}");
        // The inner query ordered through a relation of the inner row:
        // the other employee whose manager earns most (Ada's reports: Bo
        // first by id, and for Bo, Eve).
        let other = subquery(
            Employee::objects()
                .filter(Employee::ID.f().ne(OuterRef::of(Employee::ID)))
                .filter(Employee::MANAGER.isnull(false))
                .order_by(Employee::MANAGER.by(Employee::SALARY.desc()))
                .order_by(Employee::ID.asc()),
            Employee::NAME,
        );
        let rows = Employee::objects()
            .order_by(Employee::ID.asc())
            .annotate(other)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let others: Vec<Option<&str>> = rows.iter().map(|(_, o)| o.as_deref()).collect();
        assert_eq!(
            others,
            [
                Some("Bo"),
                Some("Eve"),
                Some("Bo"),
                Some("Bo"),
                Some("Bo"),
                Some("Bo")
            ],
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn subqueries_over_one_model_nest_three_levels_deep() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // X has a report Y, who has a report Z earning half of Y, who has
        // a report W earning more than half of Z: each OuterRef names the
        // row just outside it. Only Ada -> Bo (200) -> Cid (100) -> Dee (60).
        let w = Employee::objects()
            .filter(Employee::MANAGER.f().eq(OuterRef::pk().nullable()))
            .filter((Employee::SALARY.f() * 2).gt(OuterRef::of(Employee::SALARY)));
        let z = Employee::objects()
            .filter(Employee::MANAGER.f().eq(OuterRef::pk().nullable()))
            .filter((Employee::SALARY.f() * 2).eq(OuterRef::of(Employee::SALARY)))
            .filter(exists(w));
        let y = reports().filter(exists(z.clone()));
        let chain = Employee::objects().filter(exists(y));
        assert_eq!(names(&t, chain).await, ["Ada"], "{b}");
        // The middle level read as a value: each employee's first report
        // (by id) who has such a Z (Ada: Bo, as Cid earns half of Bo).
        let middle = subquery(
            reports()
                .filter(exists(
                    Employee::objects()
                        .filter(Employee::MANAGER.f().eq(OuterRef::pk().nullable()))
                        .filter((Employee::SALARY.f() * 2).eq(OuterRef::of(Employee::SALARY))),
                ))
                .order_by(Employee::ID.asc()),
            Employee::NAME,
        );
        let rows = Employee::objects()
            .order_by(Employee::ID.asc())
            .annotate(middle)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let middles: Vec<Option<&str>> = rows.iter().map(|(_, m)| m.as_deref()).collect();
        assert_eq!(middles, [Some("Bo"), None, None, None, None, None], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn excluding_a_self_subquery_keeps_the_rows_it_does_not_hold_for() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Siblings: another employee with the same manager. A NULL
        // manager equals no one's, so EXISTS is false there (never
        // unknown), and exclude keeps Ada and Fay, as Django's
        // exclude(Exists(..)) does.
        let sibling = || {
            exists(
                Employee::objects()
                    .filter(Employee::MANAGER.f().eq(OuterRef::of(Employee::MANAGER)))
                    .filter(Employee::ID.f().ne(OuterRef::of(Employee::ID))),
            )
        };
        let with = Employee::objects().filter(sibling());
        assert_eq!(names(&t, with).await, ["Bo", "Eve"], "{b}");
        let without = Employee::objects().exclude(sibling());
        assert_eq!(
            names(&t, without).await,
            ["Ada", "Cid", "Dee", "Fay"],
            "{b}"
        );
        // A subquery value compared in exclude: rows where it is NULL (no
        // reports) are kept, as for a NULL field.
        let top_salary = subquery(
            reports().order_by(Employee::SALARY.desc()),
            Employee::SALARY,
        );
        let modest = Employee::objects().exclude(top_salary.gt(Some(150)));
        assert_eq!(
            names(&t, modest).await,
            ["Bo", "Cid", "Dee", "Eve", "Fay"],
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn updates_and_deletes_read_the_table_they_write_through_a_subquery() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Each employee's best-paid report, set from a subquery of the
        // table being updated (ordered through a relation first, which
        // reads the table too: the same manager for every report).
        Employee::objects()
            .update(
                &t.db,
                [Employee::TOP_REPORT.set_f(subquery(
                    reports()
                        .order_by(Employee::MANAGER.by(Employee::NAME.asc()))
                        .order_by(Employee::SALARY.desc()),
                    Employee::ID,
                ))],
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: update: {err}"));
        let all = Employee::objects()
            .order_by(Employee::ID.asc())
            .all(&t.db)
            .await
            .unwrap();
        let name_of =
            |id: Option<i64>| id.map(|id| all.iter().find(|e| e.id == id).unwrap().name.as_str());
        let tops: Vec<Option<&str>> = all.iter().map(|e| name_of(e.top_report)).collect();
        assert_eq!(
            tops,
            [Some("Eve"), Some("Cid"), None, Some("Dee"), None, None],
            "{b}"
        );
        // Filtered by a subquery of the same table: a raise for managers
        // outearned by a report.
        let raised = Employee::objects()
            .filter(exists(reports().filter(
                Employee::SALARY.f().gt(OuterRef::of(Employee::SALARY)),
            )))
            .update(&t.db, [Employee::SALARY.set_f(Employee::SALARY.f() + 100)])
            .await
            .unwrap_or_else(|err| panic!("{b}: update: {err}"));
        assert_eq!(raised, 1, "{b}");
        let ada = Employee::objects()
            .filter(Employee::NAME.eq("Ada"))
            .get(&t.db)
            .await
            .unwrap();
        assert_eq!(ada.salary, 400, "{b}");
        // Filtered through a relation to the same table (its own
        // subquery): a raise for Bo's reports.
        let raised = Employee::objects()
            .filter(Employee::MANAGER.has(Employee::NAME.eq("Bo")))
            .update(&t.db, [Employee::SALARY.set_f(Employee::SALARY.f() + 1)])
            .await
            .unwrap_or_else(|err| panic!("{b}: update: {err}"));
        assert_eq!(raised, 1, "{b}");
        // Deleted by a subquery of the same table: the employees who
        // manage no one.
        let deleted = Employee::objects()
            .exclude(exists(reports()))
            .delete(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: delete: {err}"));
        assert_eq!(deleted, 3, "{b}");
        assert_eq!(
            names(&t, Employee::objects()).await,
            ["Ada", "Bo", "Cid"],
            "{b}"
        );
        t
    })
    .await;
}
