//! Writing XML: a small escaping writer, and the CAP document ([`Alert::to_xml`]).
//!
//! The writer only ever produces well-formed XML 1.0: names are our own constants, and all
//! text and attribute values go through [`escape_text`] / [`escape_attr`]. Characters XML
//! 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) are replaced with U+FFFD
//! rather than failing, so a stray control character in an alert never makes the whole
//! document unreadable; [`Alert::validate`] reports them so a form can refuse them first.

use crate::message::{Alert, Info};
use crate::time::cap_time;
use crate::CAP_NAMESPACE;

/// Whether XML 1.0 can carry `c` at all (the `Char` production of XML 1.0 §2.2; Rust's
/// `char` already excludes surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes character data: `&`, `<` and `>` (the last so `]]>` never appears), and `\r`
/// as a character reference so parsers' line-end normalisation keeps it.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a double-quoted attribute value: as [`escape_text`], plus `"` and the
/// whitespace characters attribute-value normalisation would otherwise turn into spaces.
pub fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push_str(&escape_text(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// An indenting XML writer. Element names are `&'static str` on purpose: they are always
/// our own constants and are written unescaped.
pub(crate) struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
}

impl XmlWriter {
    /// A document starting with the UTF-8 XML declaration.
    pub(crate) fn new() -> Self {
        Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        }
    }

    fn start_tag(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out.push_str(&escape_attr(value));
            self.out.push('"');
        }
    }

    /// Opens an element that will have child elements.
    pub(crate) fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            for _ in 0..self.open.len() {
                self.out.push_str("  ");
            }
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    /// An element holding only text.
    pub(crate) fn text(&mut self, name: &'static str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        self.out.push_str(&escape_text(text));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// A text element only if there is a value.
    pub(crate) fn opt_text(&mut self, name: &'static str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(name, &[], text);
        }
    }

    /// An element with attributes and no content.
    pub(crate) fn empty(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    /// Closes whatever is still open and returns the document.
    pub(crate) fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

impl Alert {
    /// The CAP 1.2 XML document of this alert, elements in the order the CAP 1.2 schema's
    /// sequences require. Writes what it is given: call [`Alert::validate`] first.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.open("alert", &[("xmlns", CAP_NAMESPACE)]);
        w.text("identifier", &[], &self.identifier);
        w.text("sender", &[], &self.sender);
        w.text("sent", &[], &cap_time(&self.sent));
        w.text("status", &[], self.status.as_str());
        w.text("msgType", &[], self.msg_type.as_str());
        // <source> would come here; not modelled.
        w.text("scope", &[], self.scope.as_str());
        w.opt_text("restriction", self.restriction.as_deref());
        if !self.addresses.is_empty() {
            w.text("addresses", &[], &self.addresses_text());
        }
        // <code> would come here; not modelled.
        w.opt_text("note", self.note.as_deref());
        if !self.references.is_empty() {
            w.text("references", &[], &self.references_text());
        }
        w.opt_text("incidents", self.incidents.as_deref());
        for info in &self.info {
            write_info(&mut w, info);
        }
        w.finish()
    }
}

fn write_info(w: &mut XmlWriter, info: &Info) {
    w.open("info", &[]);
    w.text("language", &[], &info.language);
    for category in &info.categories {
        w.text("category", &[], category.as_str());
    }
    w.text("event", &[], &info.event);
    for response in &info.response_types {
        w.text("responseType", &[], response.as_str());
    }
    w.text("urgency", &[], info.urgency.as_str());
    w.text("severity", &[], info.severity.as_str());
    w.text("certainty", &[], info.certainty.as_str());
    // <audience> and <eventCode> would come here; not modelled.
    for (name, time) in [
        ("effective", &info.effective),
        ("onset", &info.onset),
        ("expires", &info.expires),
    ] {
        if let Some(time) = time {
            w.text(name, &[], &cap_time(time));
        }
    }
    w.opt_text("senderName", info.sender_name.as_deref());
    w.opt_text("headline", info.headline.as_deref());
    w.opt_text("description", info.description.as_deref());
    w.opt_text("instruction", info.instruction.as_deref());
    w.opt_text("web", info.web.as_deref());
    w.opt_text("contact", info.contact.as_deref());
    // <parameter> and <resource> would come here; not modelled.
    for area in &info.areas {
        w.open("area", &[]);
        w.text("areaDesc", &[], &area.area_desc);
        w.close();
    }
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Area, Reference};
    use crate::token::{Category, Certainty, MsgType, ResponseType, Severity, Urgency};
    use chrono::{FixedOffset, TimeZone};

    #[test]
    fn text_escaping() {
        assert_eq!(
            escape_text("a<b & c>d \"q\" 'a'"),
            "a&lt;b &amp; c&gt;d \"q\" 'a'"
        );
        assert_eq!(escape_text("]]>"), "]]&gt;");
        assert_eq!(escape_text("line\r\nnext"), "line&#13;\nnext");
        assert_eq!(escape_text("bell\u{7}\u{FFFF}"), "bell\u{FFFD}\u{FFFD}");
        assert_eq!(escape_text("Ünïcødé 雪 🌨"), "Ünïcødé 雪 🌨");
    }

    #[test]
    fn attribute_escaping() {
        assert_eq!(
            escape_attr("https://x/?a=1&b=\"2\"<\t\n"),
            "https://x/?a=1&amp;b=&quot;2&quot;&lt;&#9;&#10;"
        );
    }

    #[test]
    fn element_order_and_content() {
        let sent = FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 12, 5, 10, 30, 0)
            .unwrap();
        let mut alert = Alert::new("id-2", "alerts@example.edu", sent);
        alert.msg_type = MsgType::Update;
        alert.note = Some("Roads <closed> & icy".into());
        alert.references = vec![Reference {
            sender: "alerts@example.edu".into(),
            identifier: "id-1".into(),
            sent,
        }];
        let mut info = Info::new(
            "en-US",
            Category::Met,
            "Winter storm",
            Urgency::Expected,
            Severity::Severe,
            Certainty::Likely,
        );
        info.response_types = vec![ResponseType::Shelter];
        info.headline = Some("Campus closed".into());
        info.expires = Some(sent);
        info.areas = vec![Area::new("Main campus")];
        alert.info.push(info);

        let xml = alert.to_xml();
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n"
        ));
        assert!(xml.contains("<note>Roads &lt;closed&gt; &amp; icy</note>"));
        assert!(xml.contains(
            "<references>alerts@example.edu,id-1,2026-12-05T10:30:00-05:00</references>"
        ));
        let order = [
            "<identifier>",
            "<sender>",
            "<sent>",
            "<status>",
            "<msgType>",
            "<scope>",
            "<note>",
            "<references>",
            "<info>",
            "<language>",
            "<category>",
            "<event>",
            "<responseType>",
            "<urgency>",
            "<severity>",
            "<certainty>",
            "<expires>",
            "<headline>",
            "<area>",
            "<areaDesc>",
            "</alert>",
        ];
        let positions: Vec<usize> = order.iter().map(|tag| xml.find(tag).unwrap()).collect();
        assert!(positions.windows(2).all(|p| p[0] < p[1]), "{xml}");
    }
}
