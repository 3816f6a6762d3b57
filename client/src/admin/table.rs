//! Aligned text tables (the default `mqadmin` output) that also render as JSON.

use serde_json::{Map, Value};

/// A table: a header row and data rows of the same width.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles (shown with Apache's `#` prefix).
    pub fn new<I, S>(headers: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra cells are dropped).
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: ToString,
    {
        let mut r: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        r.resize(self.headers.len(), String::new());
        self.rows.push(r);
        self
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True without data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The data rows.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// Columns padded to their widest cell, two spaces apart, no trailing spaces.
    pub fn render(&self) -> String {
        let titles: Vec<String> = self.headers.iter().map(|h| format!("#{h}")).collect();
        let mut widths: Vec<usize> = titles.iter().map(|t| t.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&titles).chain(self.rows.iter()) {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < line.len() {
                    text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    /// An array of objects keyed by column title (numbers stay numbers).
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    for (h, c) in self.headers.iter().zip(r) {
                        let v = c
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::String(c.clone()));
                        m.insert(h.clone(), v);
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_json_keeps_numbers() {
        let mut t = Table::new(["Broker Name", "QID", "Max Offset"]);
        t.row(["broker-a", "0", "12"]).row(["b", "10", "7"]);
        assert_eq!(
            t.render(),
            "#Broker Name  #QID  #Max Offset\nbroker-a      0     12\nb             10    7\n"
        );
        assert_eq!(
            t.to_json(),
            serde_json::json!([
                {"Broker Name": "broker-a", "QID": 0, "Max Offset": 12},
                {"Broker Name": "b", "QID": 10, "Max Offset": 7}
            ])
        );
        assert_eq!(t.len(), 2);
    }
}
