//! The routing tree: static children first, then converters by weight,
//! backtracking when a branch does not lead to a route.

use std::collections::HashMap;
use std::sync::Arc;

use super::converters::Converter;
use super::pattern::{Pattern, Segment};

/// Path parameters collected while matching.
pub(crate) type Params = Vec<(Arc<str>, String)>;

#[derive(Default)]
pub(crate) struct Node {
    statics: HashMap<String, Node>,
    params: Vec<ParamEdge>,
    /// Indices of the routes whose pattern ends here.
    routes: Vec<usize>,
}

struct ParamEdge {
    name: Arc<str>,
    converter_name: String,
    converter: Arc<dyn Converter>,
    node: Node,
}

impl Node {
    /// Adds route `index` with `pattern`.
    pub(crate) fn insert(&mut self, pattern: &Pattern, index: usize) {
        let mut node = self;
        for segment in &pattern.segments {
            node = match segment {
                Segment::Static(text) => node.statics.entry(text.clone()).or_default(),
                Segment::Param {
                    name,
                    converter_name,
                    converter,
                } => {
                    let position = node.params.iter().position(|edge| {
                        edge.name == *name && edge.converter_name == *converter_name
                    });
                    let position = match position {
                        Some(position) => position,
                        None => {
                            node.params.push(ParamEdge {
                                name: name.clone(),
                                converter_name: converter_name.clone(),
                                converter: converter.clone(),
                                node: Node::default(),
                            });
                            // Stable sort: equal weights keep registration order.
                            node.params.sort_by_key(|edge| edge.converter.weight());
                            node.params
                                .iter()
                                .position(|edge| {
                                    edge.name == *name && edge.converter_name == *converter_name
                                })
                                .unwrap_or(0)
                        }
                    };
                    &mut node.params[position].node
                }
            };
        }
        node.routes.push(index);
    }

    /// Walks every route matching `segments` in priority order, calling
    /// `visit` with the routes ending there and the parameters; stops when
    /// `visit` returns true.
    pub(crate) fn search(
        &self,
        segments: &[&str],
        params: &mut Params,
        visit: &mut dyn FnMut(&[usize], &Params) -> bool,
    ) -> bool {
        let Some((first, rest)) = segments.split_first() else {
            return !self.routes.is_empty() && visit(&self.routes, params);
        };
        if let Some(child) = self.statics.get(*first) {
            if child.search(rest, params, visit) {
                return true;
            }
        }
        for edge in &self.params {
            if edge.converter.spans_segments() {
                // Shortest first, so `/<path:p>/edit` leaves `edit` to the static.
                for end in 1..=segments.len() {
                    let joined = segments[..end].join("/");
                    if !edge.converter.matches(&joined) {
                        continue;
                    }
                    params.push((edge.name.clone(), joined));
                    let found = edge.node.search(&segments[end..], params, visit);
                    params.pop();
                    if found {
                        return true;
                    }
                }
            } else if edge.converter.matches(first) {
                params.push((edge.name.clone(), (*first).to_owned()));
                let found = edge.node.search(rest, params, visit);
                params.pop();
                if found {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::converters::ConverterRegistry;
    use super::*;

    fn tree(patterns: &[&str]) -> Node {
        let converters = ConverterRegistry::default();
        let mut root = Node::default();
        for (i, p) in patterns.iter().enumerate() {
            root.insert(&Pattern::parse(p, &converters).unwrap(), i);
        }
        root
    }

    fn first_match(root: &Node, path: &str) -> Option<(usize, Vec<(String, String)>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut found = None;
        root.search(&segments, &mut Vec::new(), &mut |routes, params| {
            found = Some((
                routes[0],
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ));
            true
        });
        found
    }

    #[test]
    fn static_beats_typed_beats_str() {
        let root = tree(&["/user/<name>", "/user/<int:id>", "/user/me"]);
        assert_eq!(first_match(&root, "/user/me").unwrap().0, 2);
        assert_eq!(first_match(&root, "/user/42").unwrap().0, 1);
        assert_eq!(first_match(&root, "/user/bob").unwrap().0, 0);
    }

    #[test]
    fn converter_mismatch_falls_through() {
        let root = tree(&["/item/<int:id>/edit", "/item/<slug>/view"]);
        let (route, params) = first_match(&root, "/item/12/view").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params, vec![("slug".into(), "12".into())]);
        assert!(first_match(&root, "/item/abc/edit").is_none());
    }

    #[test]
    fn path_converter_spans_segments_and_backtracks() {
        let root = tree(&["/files/<path:p>", "/wiki/<path:page>/edit"]);
        let (_, params) = first_match(&root, "/files/a/b/c.txt").unwrap();
        assert_eq!(params[0].1, "a/b/c.txt");
        let (route, params) = first_match(&root, "/wiki/a/b/edit").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params[0].1, "a/b");
        assert!(first_match(&root, "/files/").is_none());
    }

    #[test]
    fn root_and_trailing_slash_are_distinct() {
        let root = tree(&["/", "/about/"]);
        assert_eq!(first_match(&root, "/").unwrap().0, 0);
        assert_eq!(first_match(&root, "/about/").unwrap().0, 1);
        assert!(first_match(&root, "/about").is_none());
    }
}
