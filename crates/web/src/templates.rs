//! The page templates (minijinja, compiled into the binary) and the static files.
//! Templates named `*.html` escape every value by default, so text from users and from
//! the database cannot inject markup.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    ("member.html", include_str!("../templates/member.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    ("compose.html", include_str!("../templates/compose.html")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    ("progress.html", include_str!("../templates/progress.html")),
    ("logs.html", include_str!("../templates/logs.html")),
    ("accounts.html", include_str!("../templates/accounts.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("tokens.html", include_str!("../templates/tokens.html")),
    (
        "confirm_action.html",
        include_str!("../templates/confirm_action.html"),
    ),
    (
        "transcripts.html",
        include_str!("../templates/transcripts.html"),
    ),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    pub fn render(
        &self,
        name: &str,
        ctx: minijinja::Value,
    ) -> Result<Html<String>, minijinja::Error> {
        self.env.get_template(name)?.render(ctx).map(Html)
    }
}

/// Serves the CSS and JavaScript.
pub async fn static_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "site.css" => (
            include_str!("../static/site.css"),
            "text/css; charset=utf-8",
        ),
        "compose.js" => (
            include_str!("../static/compose.js"),
            "text/javascript; charset=utf-8",
        ),
        "progress.js" => (
            include_str!("../static/progress.js"),
            "text/javascript; charset=utf-8",
        ),
        "member.js" => (
            include_str!("../static/member.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_escapes() {
        let t = Templates::new().unwrap();
        let html = t
            .render(
                "signin.html",
                minijinja::context! { title => "Sign in", csrf => "\"><script>x</script>", email => "<b>" },
            )
            .unwrap()
            .0;
        assert!(html.contains("value=\"&lt;b&gt;\""), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }
}
