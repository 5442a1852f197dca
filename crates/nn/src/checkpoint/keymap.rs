//! `KeyMap`: rules that rename tensors between a file's names and a model's, for checkpoints of
//! other frameworks and of older Wengert versions.

use std::fmt;
use std::sync::Arc;

/// A closure rule: the new name, or `None` to skip the tensor.
type MapFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// One rule of a [`KeyMap`].
#[derive(Clone)]
enum Rule {
    Rename(String, String),
    StripPrefix(String),
    AddPrefix(String),
    Replace(String, String),
    Pattern(Vec<String>, String),
    Skip(Vec<String>),
    Map(MapFn),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Rename(a, b) => write!(f, "rename({a:?}, {b:?})"),
            Rule::StripPrefix(p) => write!(f, "strip_prefix({p:?})"),
            Rule::AddPrefix(p) => write!(f, "add_prefix({p:?})"),
            Rule::Replace(a, b) => write!(f, "replace({a:?}, {b:?})"),
            Rule::Pattern(parts, to) => write!(f, "pattern({:?}, {to:?})", parts.join("*")),
            Rule::Skip(parts) => write!(f, "skip({:?})", parts.join("*")),
            Rule::Map(_) => f.write_str("map(<closure>)"),
        }
    }
}

/// Rules that turn one set of tensor names into another, applied in order, each to the name the
/// previous one produced; a rule may also skip a tensor. The empty map keeps every name.
///
/// Loaders apply it to each name in the file to find the model's name
/// ([`SafetensorsOptions::keys`](super::SafetensorsOptions::keys)); savers apply it to each of the
/// model's names to find the file's. A map goes one way: loading a file saved through
/// `add_prefix("model.")` takes `strip_prefix("model.")`.
///
/// ```
/// use wengert::nn::checkpoint::KeyMap;
/// let keys = KeyMap::new()
///     .skip("*.position_ids")                          // an index buffer the model does not have
///     .strip_prefix("bert.")
///     .pattern("encoder.layer.*.attention.*", "layers.*.attn.*")
///     .rename("pooler.dense.weight", "pool.weight")
///     .map(|name| Some(name.replace("LayerNorm", "norm")));
/// assert_eq!(keys.apply("bert.embeddings.position_ids"), None);
/// assert_eq!(keys.apply("bert.encoder.layer.3.attention.query.weight").unwrap(), "layers.3.attn.query.weight");
/// assert_eq!(keys.apply("bert.pooler.dense.weight").unwrap(), "pool.weight");
/// assert_eq!(keys.apply("bert.embeddings.LayerNorm.bias").unwrap(), "embeddings.norm.bias");
/// assert_eq!(keys.apply("cls.bias").unwrap(), "cls.bias");   // no rule matches: kept
/// ```
///
/// # Checkpoints written before `Sequential` took PyTorch's names
///
/// Wengert used to name the layers of a [`Sequential`](crate::Sequential) `layers.0`, `layers.1`, ...;
/// they are now `0`, `1`, ..., as PyTorch's `nn.Sequential`. An old file of a top-level `Sequential`
/// loads with `KeyMap::new().strip_prefix("layers.")`; one whose `Sequential` sat in a field `net`
/// with `KeyMap::new().pattern("net.layers.*", "net.*")`.
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    rules: Vec<Rule>,
}

impl KeyMap {
    /// The map that keeps every name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the tensor named exactly `from` to `to`.
    pub fn rename(self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.with(Rule::Rename(from.into(), to.into()))
    }

    /// Removes `prefix` from the names that start with it (`strip_prefix("model.")`).
    pub fn strip_prefix(self, prefix: impl Into<String>) -> Self {
        self.with(Rule::StripPrefix(prefix.into()))
    }

    /// Puts `prefix` before every name (`add_prefix("model.")`).
    pub fn add_prefix(self, prefix: impl Into<String>) -> Self {
        self.with(Rule::AddPrefix(prefix.into()))
    }

    /// Replaces every occurrence of `from` in a name by `to` (`replace(".gamma", ".weight")`).
    ///
    /// # Panics
    ///
    /// When `from` is empty.
    #[track_caller]
    pub fn replace(self, from: impl Into<String>, to: impl Into<String>) -> Self {
        let from = from.into();
        assert!(!from.is_empty(), "KeyMap::replace: the text to replace is empty");
        self.with(Rule::Replace(from, to.into()))
    }

    /// Renames the names that match `from`, where each `*` stands for any run of characters (dots
    /// included), to `to` with its `*`s replaced by what they matched, in order:
    /// `pattern("h.*.attn.c_attn.*", "layers.*.qkv.*")` turns `h.0.attn.c_attn.bias` into
    /// `layers.0.qkv.bias`. A `*` matches as few characters as it can, the leftmost first (the last
    /// one takes what its end leaves). Names that do not match are kept.
    ///
    /// # Panics
    ///
    /// When `to` has more `*`s than `from`.
    #[track_caller]
    pub fn pattern(self, from: &str, to: impl Into<String>) -> Self {
        let to = to.into();
        let (stars_from, stars_to) = (from.matches('*').count(), to.matches('*').count());
        assert!(
            stars_to <= stars_from,
            "KeyMap::pattern: `{to}` has {stars_to} `*` but `{from}` only {stars_from}"
        );
        self.with(Rule::Pattern(from.split('*').map(String::from).collect(), to))
    }

    /// Skips the tensors whose names match `pattern` (`*` as in [`KeyMap::pattern`]): a load passes
    /// over them, listing them as skipped; a save leaves them out.
    pub fn skip(self, pattern: &str) -> Self {
        self.with(Rule::Skip(pattern.split('*').map(String::from).collect()))
    }

    /// Renames with a closure: `f(name)` is the new name, or `None` to skip the tensor.
    pub fn map(self, f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.with(Rule::Map(Arc::new(f)))
    }

    /// The name `name` becomes, or `None` when a rule skips it.
    pub fn apply(&self, name: &str) -> Option<String> {
        let mut name = name.to_string();
        for rule in &self.rules {
            name = match rule {
                Rule::Rename(from, to) if name == *from => to.clone(),
                Rule::Rename(..) => name,
                Rule::StripPrefix(p) => name.strip_prefix(p.as_str()).map(String::from).unwrap_or(name),
                Rule::AddPrefix(p) => format!("{p}{name}"),
                Rule::Replace(from, to) => name.replace(from.as_str(), to),
                Rule::Pattern(parts, to) => match captures(parts, &name) {
                    Some(caught) => substitute(to, &caught),
                    None => name,
                },
                Rule::Skip(parts) if captures(parts, &name).is_some() => return None,
                Rule::Skip(_) => name,
                Rule::Map(f) => f(&name)?,
            };
        }
        Some(name)
    }

    /// True when the map keeps every name.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn with(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }
}

/// What each `*` between the literal `parts` of a pattern matched in `name`, or `None` when it does
/// not match.
fn captures<'a>(parts: &[String], name: &'a str) -> Option<Vec<&'a str>> {
    let (first, rest) = parts.split_first().expect("a split yields at least one part");
    let Some((last, middle)) = rest.split_last() else {
        return (name == first).then(Vec::new); // no `*`: the whole name
    };
    let mut tail = name.strip_prefix(first.as_str())?;
    let end = tail.len().checked_sub(last.len())?;
    if !tail.ends_with(last.as_str()) {
        return None;
    }
    tail = &tail[..end];
    let mut caught = Vec::with_capacity(rest.len());
    for part in middle {
        let at = tail.find(part.as_str())?;
        caught.push(&tail[..at]);
        tail = &tail[at + part.len()..];
    }
    caught.push(tail);
    Some(caught)
}

/// `to` with its `*`s replaced by `caught`, in order.
fn substitute(to: &str, caught: &[&str]) -> String {
    let mut out = String::with_capacity(to.len());
    for (i, piece) in to.split('*').enumerate() {
        if i > 0 {
            out.push_str(caught[i - 1]);
        }
        out.push_str(piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_each_to_the_previous_result() {
        let keys =
            KeyMap::new().strip_prefix("model.").add_prefix("net.").rename("net.fc.w", "net.fc.weight");
        assert_eq!(keys.apply("model.fc.w").unwrap(), "net.fc.weight");
        assert_eq!(keys.apply("fc.b").unwrap(), "net.fc.b");
        assert_eq!(KeyMap::new().apply("a.b").unwrap(), "a.b");
        assert!(KeyMap::new().is_empty() && !keys.is_empty());
    }

    #[test]
    fn strip_prefix_keeps_names_without_the_prefix() {
        let keys = KeyMap::new().strip_prefix("layers.");
        assert_eq!(keys.apply("layers.0.weight").unwrap(), "0.weight");
        assert_eq!(keys.apply("head.layers.0.weight").unwrap(), "head.layers.0.weight");
    }

    #[test]
    fn replace_changes_every_occurrence() {
        let keys = KeyMap::new().replace(".gamma", ".weight");
        assert_eq!(keys.apply("a.gamma.b.gamma").unwrap(), "a.weight.b.weight");
    }

    #[test]
    fn patterns_capture_each_star_and_keep_names_that_do_not_match() {
        let keys = KeyMap::new().pattern("h.*.attn.*", "layers.*.self_attn.*");
        assert_eq!(keys.apply("h.11.attn.c_proj.bias").unwrap(), "layers.11.self_attn.c_proj.bias");
        assert_eq!(keys.apply("wte.weight").unwrap(), "wte.weight");
        assert_eq!(keys.apply("h.0.mlp.weight").unwrap(), "h.0.mlp.weight");
        // No star: the whole name; a star may match nothing; the prefix and suffix may not overlap.
        assert_eq!(KeyMap::new().pattern("a.b", "c").apply("a.b").unwrap(), "c");
        assert_eq!(KeyMap::new().pattern("a.*b", "*").apply("a.b").unwrap(), "");
        assert_eq!(KeyMap::new().pattern("ab*ba", "x").apply("aba").unwrap(), "aba");
        // Fewer stars in the target drop what they matched.
        assert_eq!(KeyMap::new().pattern("*.*", "*").apply("enc.w").unwrap(), "enc");
    }

    #[test]
    fn skip_and_closures_drop_names() {
        let keys = KeyMap::new()
            .skip("*.num_batches_tracked")
            .map(|n| if n.starts_with("aux.") { None } else { Some(n.to_uppercase()) });
        assert_eq!(keys.apply("bn.num_batches_tracked"), None);
        assert_eq!(keys.apply("aux.w"), None);
        assert_eq!(keys.apply("bn.weight").unwrap(), "BN.WEIGHT");
    }

    #[test]
    #[should_panic(expected = "KeyMap::pattern: `*.*` has 2 `*` but `a.*` only 1")]
    fn a_pattern_target_with_more_stars_than_its_source_panics() {
        let _ = KeyMap::new().pattern("a.*", "*.*");
    }

    #[test]
    fn a_key_map_prints_its_rules() {
        let keys = KeyMap::new().strip_prefix("m.").pattern("a.*", "b.*").map(|n| Some(n.into()));
        assert_eq!(
            format!("{keys:?}"),
            r#"KeyMap { rules: [strip_prefix("m."), pattern("a.*", "b.*"), map(<closure>)] }"#
        );
    }
}
