//! The CAP document read back by an XML parser, and the Atom, RSS and JSON feeds.

mod common;

use common::{at, AWKWARD};
use roxmltree::Document;
use textgate_cap::feed::{self, ATOM_NAMESPACE};
use textgate_cap::{Alert, Feed, FeedEntry, MsgType, CAP_NAMESPACE};

fn campus_feed() -> Feed {
    Feed {
        id: "https://alerts.example.edu/feed.atom".into(),
        title: "Example University alerts & notices".into(),
        link: "https://alerts.example.edu/".into(),
        self_link: "https://alerts.example.edu/feed.atom?lang=en&v=1".into(),
        updated: at(12, 1),
        author_name: "Example University <Emergency Management>".into(),
    }
}

fn cap_url(alert: &Alert) -> String {
    format!("https://alerts.example.edu/cap/{}.xml", alert.identifier)
}

/// Alerts given oldest first, so the feeds must reorder them.
fn alerts() -> Vec<Alert> {
    let mut ack = Alert::new("ack-1", common::SENDER, at(11, 0));
    ack.msg_type = MsgType::Ack;
    ack.references = vec![textgate_cap::Reference::of(&common::storm())];
    vec![
        common::storm(),
        common::update(),
        common::multilingual(),
        ack,
    ]
}

fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    node.children()
        .find(|n| n.has_tag_name(name))
        .unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
}

fn text<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    child(node, name).text().unwrap_or("")
}

#[test]
fn cap_text_reads_back_unchanged() {
    let alert = common::multilingual();
    let xml = alert.to_xml();
    let doc = Document::parse(&xml).expect("well-formed CAP");
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(CAP_NAMESPACE));
    assert_eq!(text(root, "note"), AWKWARD);
    assert_eq!(text(root, "sent"), "2026-12-05T15:00:00+00:00");
    let infos: Vec<_> = root.children().filter(|n| n.has_tag_name("info")).collect();
    assert_eq!(infos.len(), 4);
    assert_eq!(text(infos[0], "headline"), AWKWARD);
    assert_eq!(
        text(infos[0], "web"),
        "https://alerts.example.edu/a?x=1&y=2"
    );
    assert_eq!(
        text(child(infos[0], "area"), "areaDesc"),
        "North <campus> & dorms"
    );
    assert_eq!(text(infos[1], "headline"), "今天校园关闭 🌨");
    assert_eq!(text(infos[2], "event"), "عاصفة ثلجية");
}

#[test]
fn atom_feed() {
    let alerts = alerts();
    let entries: Vec<FeedEntry> = alerts
        .iter()
        .map(|a| FeedEntry::new(a, cap_url(a)))
        .collect();
    let xml = feed::atom(&campus_feed(), &entries);
    let doc = Document::parse(&xml).expect("well-formed Atom");
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(ATOM_NAMESPACE));
    assert_eq!(root.tag_name().name(), "feed");
    assert_eq!(text(root, "id"), "https://alerts.example.edu/feed.atom");
    assert_eq!(text(root, "title"), "Example University alerts & notices");
    assert_eq!(text(root, "updated"), "2026-12-05T12:01:00-05:00");
    assert_eq!(
        text(child(root, "author"), "name"),
        "Example University <Emergency Management>"
    );
    let self_link = root
        .children()
        .find(|n| n.has_tag_name("link") && n.attribute("rel") == Some("self"))
        .unwrap();
    assert_eq!(
        self_link.attribute("href"),
        Some("https://alerts.example.edu/feed.atom?lang=en&v=1")
    );

    let entries: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    let ids: Vec<&str> = entries.iter().map(|e| text(*e, "id")).collect();
    assert_eq!(
        ids,
        [
            "https://alerts.example.edu/cap/ack-1.xml", // 11:00 -05:00
            "https://alerts.example.edu/cap/campus-2026-0042.xml", // 10:30 -05:00
            "https://alerts.example.edu/cap/intl-1.xml", // 15:00 UTC = 10:00 -05:00
            "https://alerts.example.edu/cap/campus-2026-0041.xml", // 06:00 -05:00
        ],
        "newest first"
    );
    let update = entries[1];
    assert_eq!(text(update, "title"), "Campus stays closed tomorrow");
    assert_eq!(text(update, "updated"), "2026-12-05T10:30:00-05:00");
    assert_eq!(
        text(update, "summary"),
        "Heavy snow is expected from 9 a.m."
    );
    let link = child(update, "link");
    assert_eq!(link.attribute("rel"), Some("alternate"));
    assert_eq!(link.attribute("type"), Some("application/cap+xml"));
    assert_eq!(
        link.attribute("href"),
        Some("https://alerts.example.edu/cap/campus-2026-0042.xml")
    );
    // Markup in a headline is text, not markup.
    assert_eq!(text(entries[2], "title"), AWKWARD);
    // An Ack has no info: a title all the same, and no summary.
    assert_eq!(text(entries[0], "title"), "Ack ack-1");
    assert!(!entries[0].children().any(|n| n.has_tag_name("summary")));
}

#[test]
fn rss_feed() {
    let alerts = alerts();
    let entries: Vec<FeedEntry> = alerts
        .iter()
        .map(|a| FeedEntry::new(a, cap_url(a)))
        .collect();
    let xml = feed::rss(&campus_feed(), &entries);
    let doc = Document::parse(&xml).expect("well-formed RSS");
    let rss = doc.root_element();
    assert_eq!(rss.tag_name().name(), "rss");
    assert_eq!(rss.attribute("version"), Some("2.0"));
    let channel = child(rss, "channel");
    assert_eq!(
        text(channel, "title"),
        "Example University alerts & notices"
    );
    assert_eq!(text(channel, "link"), "https://alerts.example.edu/");
    assert_eq!(
        text(channel, "lastBuildDate"),
        "Sat, 05 Dec 2026 12:01:00 -0500"
    );
    let atom_link = channel
        .children()
        .find(|n| n.tag_name().namespace() == Some(ATOM_NAMESPACE))
        .unwrap();
    assert_eq!(atom_link.attribute("rel"), Some("self"));
    let items: Vec<_> = channel
        .children()
        .filter(|n| n.has_tag_name("item"))
        .collect();
    assert_eq!(items.len(), 4);
    assert_eq!(text(items[1], "title"), "Campus stays closed tomorrow");
    assert_eq!(
        text(items[1], "link"),
        "https://alerts.example.edu/cap/campus-2026-0042.xml"
    );
    assert_eq!(
        child(items[1], "guid").attribute("isPermaLink"),
        Some("true")
    );
    assert_eq!(text(items[1], "pubDate"), "Sat, 05 Dec 2026 10:30:00 -0500");
    assert_eq!(text(items[2], "pubDate"), "Sat, 05 Dec 2026 15:00:00 +0000");
}

#[test]
fn json_feed() {
    let alerts = alerts();
    let entries: Vec<FeedEntry> = alerts
        .iter()
        .map(|a| FeedEntry::new(a, cap_url(a)))
        .collect();
    let value = feed::json(&campus_feed(), &entries);
    assert_eq!(value["title"], "Example University alerts & notices");
    assert_eq!(value["updated"], "2026-12-05T12:01:00-05:00");
    let list = value["alerts"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(
        list[1],
        serde_json::json!({
            "identifier": "campus-2026-0042",
            "sender": "alerts@example.edu",
            "sent": "2026-12-05T10:30:00-05:00",
            "status": "Actual",
            "msgType": "Update",
            "language": "en-US",
            "event": "Winter storm",
            "headline": "Campus stays closed tomorrow",
            "description": "Heavy snow is expected from 9 a.m.",
            "instruction": "Stay home. Check the website for updates.",
            "severity": "Severe",
            "urgency": "Expected",
            "certainty": "Likely",
            "expires": "2026-12-05T23:00:00-05:00",
            "areas": ["Main campus"],
            "cap": "https://alerts.example.edu/cap/campus-2026-0042.xml",
            "references": [
                {
                    "sender": "alerts@example.edu",
                    "identifier": "campus-2026-0041",
                    "sent": "2026-12-05T06:00:00-05:00"
                },
                {
                    "sender": "nws@example.gov",
                    "identifier": "NWS-123",
                    "sent": "2026-12-05T04:00:00+00:00"
                }
            ]
        })
    );
    // An alert without info: nulls and no areas, not a missing key.
    assert_eq!(list[0]["msgType"], "Ack");
    assert!(list[0]["headline"].is_null());
    assert_eq!(list[0]["areas"], serde_json::json!([]));
    assert_eq!(
        list[2]["areas"],
        serde_json::json!(["North <campus> & dorms", "Südcampus"])
    );
}

#[test]
fn empty_feeds_are_well_formed() {
    let feed = campus_feed();
    Document::parse(&feed::atom(&feed, &[])).unwrap();
    Document::parse(&feed::rss(&feed, &[])).unwrap();
    assert_eq!(feed::json(&feed, &[])["alerts"], serde_json::json!([]));
}
