//! Device form factor, browser and engine from the User-Agent header.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormFactor {
    Desktop,
    Phone,
    Tablet,
    Other,
}

impl FormFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            FormFactor::Desktop => "desktop",
            FormFactor::Phone => "phone",
            FormFactor::Tablet => "tablet",
            FormFactor::Other => "other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub form_factor: FormFactor,
    pub browser: String,
    pub engine: &'static str,
}

pub fn classify_user_agent(ua: &str) -> ClientInfo {
    let parsed = woothee::parser::Parser::new().parse(ua);
    let (category, name) = parsed
        .as_ref()
        .map(|r| (r.category, r.name))
        .unwrap_or(("UNKNOWN", "UNKNOWN"));
    // woothee files tablets under "smartphone"; iPad and Android without
    // "Mobile" are tablets by the vendors' own UA conventions.
    let tablet = ua.contains("iPad") || (ua.contains("Android") && !ua.contains("Mobile"));
    let form_factor = match category {
        "pc" => FormFactor::Desktop,
        "smartphone" | "mobilephone" if tablet => FormFactor::Tablet,
        "smartphone" | "mobilephone" => FormFactor::Phone,
        _ => FormFactor::Other,
    };
    let engine = if ua.contains("Firefox/") {
        "Gecko"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("Edg/") {
        "Blink"
    } else if ua.contains("AppleWebKit/") {
        "WebKit"
    } else {
        "other"
    };
    let browser = if name == "UNKNOWN" {
        "other".to_string()
    } else {
        name.chars().take(32).collect()
    };
    ClientInfo {
        form_factor,
        browser,
        engine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_user_agents_are_classified() {
        let desktop_chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        let c = classify_user_agent(desktop_chrome);
        assert_eq!(c.form_factor, FormFactor::Desktop);
        assert_eq!(c.engine, "Blink");
        assert_eq!(c.browser, "Chrome");

        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let c = classify_user_agent(iphone);
        assert_eq!(c.form_factor, FormFactor::Phone);
        assert_eq!(c.engine, "WebKit");

        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(classify_user_agent(firefox).engine, "Gecko");

        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(classify_user_agent(ipad).form_factor, FormFactor::Tablet);

        assert_eq!(classify_user_agent("").form_factor, FormFactor::Other);
    }
}
