//! Query-string parameters as HubSpot reads them: repeated or comma-separated lists, and
//! booleans in any case (`archived=True`).

use super::error::ApiError;

#[derive(Debug, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self { pairs }
    }

    fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The last value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values(name).last()
    }

    /// All values of a list parameter, from repeated and comma-separated forms alike.
    /// `None` when the parameter is absent.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let mut present = false;
        let mut items = Vec::new();
        for value in self.values(name) {
            present = true;
            items.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned),
            );
        }
        present.then_some(items)
    }

    /// A boolean parameter (`true`/`false` in any case); absent means `default`.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(ApiError::validation(format!(
                "Invalid value \"{value}\" for query parameter \"{name}\": expected true or false"
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value.trim().parse().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "Invalid value \"{value}\" for query parameter \"{name}\": expected a non-negative integer"
                ))
            }),
        }
    }

    /// The pairs in order, with `name` replaced by (or set to) `value`: for paging links.
    pub fn with(&self, name: &str, value: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, existing) in &self.pairs {
            if key != name {
                out.append_pair(key, existing);
            }
        }
        out.append_pair(name, value);
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_both_forms() {
        let q = QueryParams::parse(Some("properties=a,b&properties=c&archived=True"));
        assert_eq!(q.list("properties").unwrap(), vec!["a", "b", "c"]);
        assert!(q.list("associations").is_none());
        assert!(q.flag("archived", false).unwrap());
        assert!(QueryParams::parse(Some("archived=maybe"))
            .flag("archived", false)
            .is_err());
    }

    #[test]
    fn paging_link_keeps_other_parameters() {
        let q = QueryParams::parse(Some("limit=2&after=5&properties=a%2Cb"));
        assert_eq!(q.with("after", "9"), "limit=2&properties=a%2Cb&after=9");
    }
}
