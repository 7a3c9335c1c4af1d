//! The fixed facts the simulated enterprise is drawn from: cities with
//! their coordinates and zones, names, departments, applications, and the
//! internet services everyone talks to.

use chrono_tz::Tz;

/// A city: where an office is, where people travel, or where an attacker
/// signs in from.
pub(crate) struct City {
    pub name: &'static str,
    /// The country as Okta writes it (a name, not a code).
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub tz: Tz,
    /// First two octets of the public addresses seen from there (office
    /// egress, homes, hotels, attackers).
    pub net: [u8; 2],
    /// Share of the staff in this office (0 for cities without one).
    pub staff: u32,
}

const fn city(
    name: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
    tz: Tz,
    net: [u8; 2],
    staff: u32,
) -> City {
    City {
        name,
        country,
        lat,
        lon,
        tz,
        net,
        staff,
    }
}

/// Offices first (`staff > 0`), then places people travel to, then places
/// attacks come from (see [`ATTACK_CITIES`]).
pub(crate) static CITIES: &[City] = &[
    city(
        "New York",
        "United States",
        40.7128,
        -74.006,
        Tz::America__New_York,
        [38, 142],
        30,
    ),
    city(
        "San Francisco",
        "United States",
        37.7749,
        -122.4194,
        Tz::America__Los_Angeles,
        [67, 160],
        20,
    ),
    city(
        "London",
        "United Kingdom",
        51.5072,
        -0.1276,
        Tz::Europe__London,
        [81, 130],
        20,
    ),
    city(
        "Berlin",
        "Germany",
        52.52,
        13.405,
        Tz::Europe__Berlin,
        [91, 64],
        12,
    ),
    city(
        "Munich",
        "Germany",
        48.1351,
        11.582,
        Tz::Europe__Berlin,
        [93, 104],
        8,
    ),
    city(
        "Singapore",
        "Singapore",
        1.3521,
        103.8198,
        Tz::Asia__Singapore,
        [116, 88],
        10,
    ),
    city(
        "Paris",
        "France",
        48.8566,
        2.3522,
        Tz::Europe__Paris,
        [82, 64],
        0,
    ),
    city(
        "Toronto",
        "Canada",
        43.6532,
        -79.3832,
        Tz::America__Toronto,
        [99, 229],
        0,
    ),
    city(
        "Tokyo",
        "Japan",
        35.6762,
        139.6503,
        Tz::Asia__Tokyo,
        [126, 15],
        0,
    ),
    city(
        "Chicago",
        "United States",
        41.8781,
        -87.6298,
        Tz::America__Chicago,
        [73, 45],
        0,
    ),
    city(
        "Dublin",
        "Ireland",
        53.3498,
        -6.2603,
        Tz::Europe__Dublin,
        [86, 40],
        0,
    ),
    city(
        "Sao Paulo",
        "Brazil",
        -23.5558,
        -46.6396,
        Tz::America__Sao_Paulo,
        [177, 67],
        0,
    ),
    city(
        "Lagos",
        "Nigeria",
        6.5244,
        3.3792,
        Tz::Africa__Lagos,
        [102, 89],
        0,
    ),
    city(
        "Hanoi",
        "Vietnam",
        21.0285,
        105.8542,
        Tz::Asia__Ho_Chi_Minh,
        [113, 190],
        0,
    ),
    city(
        "Moscow",
        "Russia",
        55.7558,
        37.6173,
        Tz::Europe__Moscow,
        [95, 165],
        0,
    ),
    city(
        "Bucharest",
        "Romania",
        44.4268,
        26.1025,
        Tz::Europe__Bucharest,
        [89, 136],
        0,
    ),
    city(
        "Jakarta",
        "Indonesia",
        -6.2088,
        106.8456,
        Tz::Asia__Jakarta,
        [36, 68],
        0,
    ),
    city(
        "Kyiv",
        "Ukraine",
        50.4501,
        30.5234,
        Tz::Europe__Kyiv,
        [176, 36],
        0,
    ),
];

/// Cities with an office: the first entries of [`CITIES`].
pub(crate) const OFFICES: usize = 6;

/// Cities people travel to for business: other offices and these.
pub(crate) const TRAVEL_CITIES: std::ops::Range<usize> = 0..11;

/// Cities attacks come from: none of them has an office or is a usual
/// destination.
pub(crate) const ATTACK_CITIES: std::ops::Range<usize> = 11..18;

/// Great-circle distance between two cities, in km.
pub(crate) fn distance_km(a: &City, b: &City) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dla = la2 - la1;
    let dlo = (b.lon - a.lon).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Hours from leaving one office to being able to sign in at the other:
/// cruising at 800 km/h plus three hours of airports.
pub(crate) fn flight_hours(a: &City, b: &City) -> f64 {
    distance_km(a, b) / 800.0 + 3.0
}

pub(crate) static FIRST_NAMES: &[&str] = &[
    "alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "irene", "jack", "karen",
    "liam", "maria", "noah", "olivia", "peter", "quinn", "rachel", "samuel", "tina", "umar",
    "vera", "walter", "xenia", "yusuf", "zoe", "aaron", "bianca", "chen", "dmitri", "elena",
    "fatima", "george", "hannah", "ivan", "julia", "kenji", "laura", "mohammed", "nina", "oscar",
    "priya", "rafael", "sofia", "thomas", "ursula", "victor", "wei", "yara", "anna", "ben",
    "clara", "daniel", "eva", "felix", "hugo", "isabel", "jonas", "lena", "marco", "nora", "paul",
    "rosa", "sarah", "tobias", "emily", "james", "lucas", "mia",
];

pub(crate) static LAST_NAMES: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "martinez",
    "lopez",
    "wilson",
    "anderson",
    "taylor",
    "thomas",
    "moore",
    "jackson",
    "martin",
    "lee",
    "thompson",
    "white",
    "harris",
    "clark",
    "lewis",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "mitchell",
    "roberts",
    "carter",
    "phillips",
    "evans",
    "turner",
    "parker",
    "collins",
    "edwards",
    "stewart",
    "morris",
    "murphy",
    "cook",
    "rogers",
    "morgan",
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "hoffmann",
    "schulz",
    "koch",
    "tan",
    "lim",
    "ng",
    "wong",
    "kumar",
    "patel",
    "singh",
    "okafor",
    "novak",
    "kowalski",
    "rossi",
    "dubois",
    "silva",
    "sato",
    "kim",
    "nguyen",
    "ivanova",
    "jensen",
    "larsen",
];

/// A department: its share of staff, its Okta apps and what its people
/// reach on the network.
pub(crate) struct Dept {
    pub name: &'static str,
    pub weight: u32,
    /// Indexes into [`APPS`], each person takes most of them.
    pub apps: &'static [usize],
    /// Whether its people ssh to Linux servers.
    pub ssh: bool,
    /// Whether its people are administrators (many servers, every week).
    pub admin: bool,
    /// Share of Mac users, in percent.
    pub mac_pct: u32,
}

pub(crate) static DEPTS: &[Dept] = &[
    Dept {
        name: "engineering",
        weight: 30,
        apps: &[0, 1, 3, 7, 8, 9, 11],
        ssh: true,
        admin: false,
        mac_pct: 45,
    },
    Dept {
        name: "sales",
        weight: 22,
        apps: &[0, 1, 2, 6, 10, 12],
        ssh: false,
        admin: false,
        mac_pct: 15,
    },
    Dept {
        name: "finance",
        weight: 10,
        apps: &[0, 1, 4, 13, 14],
        ssh: false,
        admin: false,
        mac_pct: 5,
    },
    Dept {
        name: "hr",
        weight: 6,
        apps: &[0, 1, 4, 6, 15],
        ssh: false,
        admin: false,
        mac_pct: 10,
    },
    Dept {
        name: "marketing",
        weight: 10,
        apps: &[0, 1, 2, 6, 8, 10],
        ssh: false,
        admin: false,
        mac_pct: 40,
    },
    Dept {
        name: "support",
        weight: 12,
        apps: &[0, 1, 2, 5, 8],
        ssh: false,
        admin: false,
        mac_pct: 10,
    },
    Dept {
        name: "it-admins",
        weight: 4,
        apps: &[0, 1, 5, 7, 9, 16],
        ssh: true,
        admin: true,
        mac_pct: 20,
    },
    Dept {
        name: "legal",
        weight: 6,
        apps: &[0, 1, 4, 17],
        ssh: false,
        admin: false,
        mac_pct: 5,
    },
];

/// Okta application instances: display name and the app's id.
pub(crate) static APPS: &[(&str, &str)] = &[
    ("Office 365", "0oa1ofc365a2b3c4d5e6"),
    ("Slack", "0oa1slack9f8e7d6c5b4"),
    ("Salesforce.com", "0oa1sfdc1a2s3d4f5g6"),
    ("GitHub Enterprise Cloud", "0oa1github7h8j9k0l1"),
    ("Workday", "0oa1wday2q3w4e5r6t7"),
    ("ServiceNow", "0oa1snow8y9u0i1o2p3"),
    ("Zoom", "0oa1zoom4a5s6d7f8g9"),
    ("AWS IAM Identity Center", "0oa1awss0h1j2k3l4z5"),
    ("Atlassian Cloud", "0oa1atla6x7c8v9b0n1"),
    ("Datadog", "0oa1ddog2m3q4w5e6r7"),
    ("HubSpot", "0oa1hubs8t9y0u1i2o3"),
    ("PagerDuty", "0oa1pgdy4p5a6s7d8f9"),
    ("Gong", "0oa1gong0g1h2j3k4l5"),
    ("NetSuite", "0oa1nets6z7x8c9v0b1"),
    ("SAP Concur", "0oa1conc2n3m4q5w6e7"),
    ("Greenhouse", "0oa1grnh8r9t0y1u2i3"),
    ("Okta Admin Console", "0oa1okad4o5p6a7s8d9"),
    ("DocuSign", "0oa1docu0f1g2h3j4k5"),
];

/// Internet services workstations reach on 443: name and its addresses'
/// first three octets (the last is drawn).
pub(crate) static SAAS: &[(&str, [u8; 3])] = &[
    ("outlook.office365.com", [52, 96, 165]),
    ("login.microsoftonline.com", [20, 190, 151]),
    ("teams.microsoft.com", [52, 113, 194]),
    ("slack.com", [34, 226, 14]),
    ("edgeapi.slack.com", [54, 165, 83]),
    ("github.com", [140, 82, 112]),
    ("salesforce.com", [136, 147, 40]),
    ("zoom.us", [170, 114, 52]),
    ("corp.okta.com", [44, 229, 212]),
    ("www.google.com", [142, 250, 185]),
    ("fonts.gstatic.com", [142, 250, 74]),
    ("cdn.jsdelivr.net", [151, 101, 1]),
    ("s3.amazonaws.com", [52, 217, 96]),
    ("atlassian.net", [185, 166, 143]),
    ("workday.com", [198, 54, 20]),
    ("datadoghq.com", [3, 233, 146]),
    ("update.microsoft.com", [13, 107, 4]),
    ("apple.com", [17, 253, 144]),
];

/// Browser user agents of each kind of device.
pub(crate) static UA_WINDOWS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.56",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
];
pub(crate) static UA_MAC: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
];
pub(crate) static UA_PHONE: &[&str] = &[
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.86 Mobile Safari/537.36",
];
/// What attackers' tools and browsers say they are.
pub(crate) static UA_ATTACK: &[&str] = &[
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "okhttp/4.12.0",
];

/// Service accounts: name, and whether the service is a legacy one that
/// still gets RC4 (0x17) tickets now and then.
pub(crate) static SERVICE_ACCOUNTS: &[(&str, bool)] = &[
    ("svc_sql", false),
    ("svc_web", false),
    ("svc_backup", false),
    ("svc_sharepoint", false),
    ("svc_crm", false),
    ("svc_reporting", false),
    ("svc_iis", false),
    ("svc_exchange", false),
    ("svc_legacy_erp", true),
    ("svc_legacy_print", true),
    ("svc_scanner", true),
    ("svc_monitor", false),
    ("svc_deploy", false),
    ("svc_adsync", false),
    ("svc_jira", false),
    ("svc_confluence", false),
    ("svc_tableau", false),
    ("svc_sccm", false),
    ("svc_wsus", false),
    ("svc_pki", false),
    ("svc_hr_payroll", false),
    ("svc_fin_ledger", false),
    ("svc_archive", false),
    ("svc_ftp", true),
];
