//! Cursor pagination: `?limit=&after=`, with a hard maximum page size.

use super::Invalid;

/// The largest page anyone may ask for.
pub const MAX_PAGE_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 50;

/// A validated page request: `after` is the exclusive cursor (the last id already seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<i64>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, after: Option<i64>) -> Result<Self, Invalid> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(Invalid::new(
                "limit",
                format!("limit must be between 1 and {MAX_PAGE_LIMIT}"),
            ));
        }
        if after.is_some_and(|a| a < 0) {
            return Err(Invalid::new("after", "after must not be negative"));
        }
        Ok(PageRequest { limit, after })
    }

    /// How many rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and returns the cursor of the next page, if any.
    pub fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(id);
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_has_a_default_and_a_hard_maximum() {
        assert_eq!(PageRequest::parse(None, None).map(|p| p.limit), Ok(50));
        assert!(PageRequest::parse(Some(200), None).is_ok());
        let err = PageRequest::parse(Some(201), None).err();
        assert!(err.is_some_and(|e| e.message.contains("200")));
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(None, Some(-1)).is_err());
    }

    #[test]
    fn finish_reports_a_next_cursor_only_when_more_rows_exist() {
        let page = PageRequest {
            limit: 2,
            after: None,
        };
        assert_eq!(page.finish(vec![1, 2, 3], |x| *x), (vec![1, 2], Some(2)));
        assert_eq!(page.finish(vec![1, 2], |x| *x), (vec![1, 2], None));
    }
}
