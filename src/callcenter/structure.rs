//! A small reader and checker for Call Center definition files, for tests: it parses the XML
//! subset these files use (elements, attributes, text, comments) and checks the rules
//! Salesforce's import applies. Shared by the unit tests in `src/callcenter.rs` and the
//! end-to-end test `tests/callcenter_xml.rs` (included there with `#[path]`).

#[derive(Debug)]
pub struct CallCenter {
    pub sections: Vec<Section>,
}

#[derive(Debug)]
pub struct Section {
    pub sort_order: String,
    pub name: String,
    pub label: String,
    pub items: Vec<Item>,
}

#[derive(Debug)]
pub struct Item {
    pub sort_order: String,
    pub name: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> Result<String, String> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("<{}> without {name}=", self.name))
    }
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_misc(&mut self) -> Result<(), String> {
        loop {
            let trimmed = self.rest().trim_start();
            self.pos = self.s.len() - trimmed.len();
            if trimmed.starts_with("<!--") {
                let end = trimmed.find("-->").ok_or("unterminated comment")?;
                self.pos += end + 3;
            } else if trimmed.starts_with("<?") {
                let end = trimmed.find("?>").ok_or("unterminated declaration")?;
                self.pos += end + 2;
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(format!("expected a name at byte {}", self.pos));
        }
        let name = self.rest()[..len].to_string();
        self.pos += len;
        Ok(name)
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(format!("expected {token:?} at byte {}", self.pos))
        }
    }

    fn element(&mut self) -> Result<Element, String> {
        self.skip_misc()?;
        self.expect("<")?;
        let name = self.name()?;
        let mut attrs = Vec::new();
        loop {
            let trimmed = self.rest().trim_start();
            self.pos = self.s.len() - trimmed.len();
            if self.rest().starts_with("/>") {
                self.pos += 2;
                return Ok(Element {
                    name,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                });
            }
            if self.rest().starts_with('>') {
                self.pos += 1;
                break;
            }
            let key = self.name()?;
            self.expect("=")?;
            let quote = if self.rest().starts_with('"') {
                "\""
            } else {
                "'"
            };
            self.expect(quote)?;
            let end = self.rest().find(quote).ok_or("unterminated attribute")?;
            let raw = &self.rest()[..end];
            if raw.contains('<') {
                return Err(format!("'<' inside attribute {key}"));
            }
            attrs.push((key, unescape(raw)?));
            self.pos += end + 1;
        }
        let mut children = Vec::new();
        let mut text = String::new();
        loop {
            let next = self
                .rest()
                .find('<')
                .ok_or(format!("<{name}> not closed"))?;
            text.push_str(&unescape(&self.rest()[..next])?);
            self.pos += next;
            if self.rest().starts_with("</") {
                self.pos += 2;
                let closing = self.name()?;
                if closing != name {
                    return Err(format!("<{name}> closed by </{closing}>"));
                }
                self.expect(">")?;
                break;
            }
            if self.rest().starts_with("<!--") {
                self.skip_misc()?;
                continue;
            }
            children.push(self.element()?);
        }
        Ok(Element {
            name,
            attrs,
            children,
            text,
        })
    }
}

fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..]
            .find(';')
            .ok_or_else(|| format!("bare '&' in {raw:?}"))?;
        out.push(match &rest[amp + 1..amp + semi] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            other => return Err(format!("unknown entity &{other};")),
        });
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads a Call Center file: `<callCenter>` with `<section>`s holding `<item>`s.
pub fn parse(xml: &str) -> Result<CallCenter, String> {
    let mut reader = Reader { s: xml, pos: 0 };
    let root = reader.element()?;
    reader.skip_misc()?;
    if !reader.rest().is_empty() {
        return Err(format!("content after </{}>", root.name));
    }
    if root.name != "callCenter" {
        return Err(format!("root is <{}>, not <callCenter>", root.name));
    }
    let mut sections = Vec::new();
    for s in &root.children {
        if s.name != "section" {
            return Err(format!("<{}> inside <callCenter>", s.name));
        }
        let mut items = Vec::new();
        for i in &s.children {
            if i.name != "item" || !i.children.is_empty() {
                return Err(format!("<{}> inside <section>", i.name));
            }
            items.push(Item {
                sort_order: i.attr("sortOrder")?,
                name: i.attr("name")?,
                label: i.attr("label")?,
                value: i.text.clone(),
            });
        }
        sections.push(Section {
            sort_order: s.attr("sortOrder")?,
            name: s.attr("name")?,
            label: s.attr("label")?,
            items,
        });
    }
    Ok(CallCenter { sections })
}

fn check_orders<'a>(what: &str, orders: impl Iterator<Item = &'a String>) -> Result<(), String> {
    for (expected, order) in orders.enumerate() {
        if order.parse::<usize>().ok() != Some(expected) {
            return Err(format!(
                "{what}: sortOrder {order:?} where {expected} was due (from 0, no gaps)"
            ));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 40 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "name {name:?}: must be 1 to 40 alphanumeric characters"
        ));
    }
    Ok(())
}

/// The import rules: sortOrder from 0 without gaps (sections, and items in each section);
/// names alphanumeric, at most 40 characters; `reqGeneralInfo` first, holding the required
/// items with reqInternalName at 0 and reqDisplayName at 1; the `req` prefix only there.
pub fn check(cc: &CallCenter) -> Result<(), String> {
    check_orders("sections", cc.sections.iter().map(|s| &s.sort_order))?;
    let general = cc.sections.first().ok_or("no section")?;
    if general.name != "reqGeneralInfo" {
        return Err(format!(
            "first section is {:?}, not reqGeneralInfo",
            general.name
        ));
    }
    for s in &cc.sections {
        check_name(&s.name)?;
        check_orders(
            &format!("section {}", s.name),
            s.items.iter().map(|i| &i.sort_order),
        )?;
        for i in &s.items {
            check_name(&i.name)?;
            if s.name != "reqGeneralInfo" && i.name.starts_with("req") {
                return Err(format!(
                    "custom item {:?} uses the reserved req prefix",
                    i.name
                ));
            }
        }
        if s.name != "reqGeneralInfo" && s.name.starts_with("req") {
            return Err(format!(
                "custom section {:?} uses the reserved req prefix",
                s.name
            ));
        }
    }
    let position = |name: &str| general.items.iter().position(|i| i.name == name);
    for required in [
        "reqInternalName",
        "reqDisplayName",
        "reqAdapterUrl",
        "reqUseApi",
        "reqSalesforceCompatibilityMode",
    ] {
        let Some(at) = position(required) else {
            return Err(format!("required item {required} missing"));
        };
        if general.items[at].value.trim().is_empty() {
            return Err(format!("required item {required} is empty"));
        }
    }
    if position("reqInternalName") != Some(0) || position("reqDisplayName") != Some(1) {
        return Err("reqInternalName must have sortOrder 0 and reqDisplayName 1".into());
    }
    Ok(())
}
