//! What the synthetic dealer sells, where its customers live and which stores it runs.

use crate::money::Money;

/// The price lists the catalog carries. A shop with any other currency uses the CNY list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Currency {
    Cny,
    Usd,
    Eur,
}

impl Currency {
    pub(crate) fn of(code: &str) -> Currency {
        match code.trim().to_ascii_uppercase().as_str() {
            "USD" => Currency::Usd,
            "EUR" => Currency::Eur,
            _ => Currency::Cny,
        }
    }
}

/// One SKU with its prices (minor units, as listed: CNY and EUR include VAT, USD does not).
#[derive(Debug)]
pub(crate) struct Sku {
    pub sku: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// `purifier`, `filter`, `accessory` or `service`.
    pub category: &'static str,
    /// Standard cost in CNY fen.
    pub standard_cost: i64,
    pub requires_installation: bool,
    pub is_consumable: bool,
    pub cny: i64,
    pub usd: i64,
    pub eur: i64,
    pub grams: u32,
}

impl Sku {
    pub(crate) fn price(&self, currency: Currency) -> Money {
        Money::from_minor(match currency {
            Currency::Cny => self.cny,
            Currency::Usd => self.usd,
            Currency::Eur => self.eur,
        })
    }

    pub(crate) fn is_purifier(&self) -> bool {
        self.category == "purifier"
    }
}

macro_rules! sku {
    ($sku:expr, $zh:expr, $en:expr, $cat:expr, $cost:expr, $inst:expr, $cons:expr, $cny:expr, $usd:expr, $eur:expr, $g:expr) => {
        Sku {
            sku: $sku,
            name_zh: $zh,
            name_en: $en,
            category: $cat,
            standard_cost: $cost,
            requires_installation: $inst,
            is_consumable: $cons,
            cny: $cny,
            usd: $usd,
            eur: $eur,
            grams: $g,
        }
    };
}

/// Every SKU the generator sells (the products feed lists them all).
#[rustfmt::skip]
pub(crate) const CATALOG: &[Sku] = &[
    sku!("WP-RO-400", "RO反渗透净水器 400G", "RO Water Purifier 400GPD", "purifier", 98_000, true, false, 199_900, 34_900, 32_900, 11_000),
    sku!("WP-RO-500", "RO反渗透净水器 500G", "RO Water Purifier 500GPD", "purifier", 145_000, true, false, 299_900, 44_900, 44_900, 12_000),
    sku!("WP-RO-600", "RO反渗透净水器 600G", "RO Water Purifier 600GPD", "purifier", 178_000, true, false, 329_900, 52_900, 51_900, 13_000),
    sku!("WP-UF-200", "超滤净水器 200L", "Ultrafiltration Purifier 200L", "purifier", 42_000, true, false, 89_900, 15_900, 14_900, 4_500),
    sku!("WP-UF-300", "超滤净水器 300L", "Ultrafiltration Purifier 300L", "purifier", 56_000, true, false, 119_900, 19_900, 18_900, 5_200),
    sku!("WP-HOT-01", "即热式管线机", "Instant Hot Water Dispenser", "purifier", 56_000, true, false, 159_900, 27_900, 26_900, 6_800),
    sku!("FLT-PP-10", "PP棉滤芯 10寸", "PP Sediment Filter 10\"", "filter", 850, false, true, 3_900, 1_200, 1_190, 300),
    sku!("FLT-CTO-10", "压缩活性炭滤芯 10寸", "Carbon Block Filter 10\"", "filter", 1_280, false, true, 5_900, 1_800, 1_690, 500),
    sku!("FLT-UDF-10", "颗粒活性炭滤芯 10寸", "Granular Carbon Filter 10\"", "filter", 1_120, false, true, 4_900, 1_500, 1_450, 450),
    sku!("FLT-RO-75", "RO膜滤芯 75G", "RO Membrane 75GPD", "filter", 6_800, false, true, 19_900, 4_500, 4_200, 600),
    sku!("FLT-RO-500", "RO膜滤芯 500G", "RO Membrane 500GPD", "filter", 26_000, false, true, 39_900, 8_900, 8_400, 900),
    sku!("FLT-T33", "T33后置活性炭滤芯", "T33 Post Carbon Filter", "filter", 960, false, true, 4_500, 1_400, 1_290, 250),
    sku!("FLT-UF-200", "超滤膜滤芯", "UF Membrane Cartridge", "filter", 6_800, false, true, 12_900, 2_900, 2_750, 400),
    sku!("ACC-FAUCET-01", "鹅颈纯水龙头", "Gooseneck RO Faucet", "accessory", 4_500, false, false, 12_900, 2_900, 2_700, 700),
    sku!("ACC-TDS-01", "TDS水质检测笔", "TDS Water Quality Tester", "accessory", 1_500, false, false, 2_900, 999, 950, 80),
    sku!("ACC-TANK-3G", "3.2加仑压力储水桶", "3.2 Gallon Pressure Tank", "accessory", 8_500, false, false, 29_900, 5_900, 5_500, 4_000),
    sku!("SVC-INSTALL", "上门安装服务", "Professional Installation", "service", 8_000, false, false, 19_900, 9_900, 8_900, 0),
];

/// Index of a SKU in [`CATALOG`].
pub(crate) fn sku_index(code: &str) -> Option<usize> {
    CATALOG.iter().position(|s| s.sku == code)
}

/// Where a customer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    Cn,
    Us,
    De,
}

/// A city with what addresses and taxes need.
#[derive(Debug)]
pub(crate) struct City {
    pub region: Region,
    /// As the platform writes it: `深圳市` for Chinese cities, `Los Angeles`, `München`.
    pub name: &'static str,
    /// Province / state (`广东省`, `CA`, `BE`).
    pub province: &'static str,
    /// District (Chinese cities) or empty.
    pub district: &'static str,
    pub postcode: &'static str,
    /// Sales tax in basis points (US), else 0.
    pub tax_bp: i64,
    /// Tax line title (US).
    pub tax_title: &'static str,
}

macro_rules! city {
    ($r:expr, $name:expr, $prov:expr, $dist:expr, $post:expr, $bp:expr, $title:expr) => {
        City {
            region: $r,
            name: $name,
            province: $prov,
            district: $dist,
            postcode: $post,
            tax_bp: $bp,
            tax_title: $title,
        }
    };
}

/// Cities customers live in and ship to.
#[rustfmt::skip]
pub(crate) const CITIES: &[City] = &[
    city!(Region::Cn, "深圳市", "广东省", "南山区", "518057", 0, ""),
    city!(Region::Cn, "深圳市", "广东省", "福田区", "518048", 0, ""),
    city!(Region::Cn, "广州市", "广东省", "天河区", "510620", 0, ""),
    city!(Region::Cn, "上海市", "上海市", "浦东新区", "200120", 0, ""),
    city!(Region::Cn, "北京市", "北京市", "朝阳区", "100020", 0, ""),
    city!(Region::Cn, "杭州市", "浙江省", "西湖区", "310012", 0, ""),
    city!(Region::Cn, "东莞市", "广东省", "南城区", "523000", 0, ""),
    city!(Region::Cn, "佛山市", "广东省", "禅城区", "528000", 0, ""),
    city!(Region::Us, "Los Angeles", "CA", "", "90012", 950, "CA State Tax"),
    city!(Region::Us, "San Francisco", "CA", "", "94103", 863, "CA State Tax"),
    city!(Region::Us, "San Diego", "CA", "", "92101", 775, "CA State Tax"),
    city!(Region::Us, "San Jose", "CA", "", "95113", 938, "CA State Tax"),
    city!(Region::Us, "Irvine", "CA", "", "92618", 775, "CA State Tax"),
    city!(Region::Us, "Seattle", "WA", "", "98101", 1035, "WA State Tax"),
    city!(Region::Us, "Las Vegas", "NV", "", "89101", 838, "NV State Tax"),
    city!(Region::De, "Berlin", "BE", "", "10115", 0, ""),
    city!(Region::De, "München", "BY", "", "80331", 0, ""),
    city!(Region::De, "Hamburg", "HH", "", "20095", 0, ""),
    city!(Region::De, "Frankfurt am Main", "HE", "", "60311", 0, ""),
    city!(Region::De, "Köln", "NW", "", "50667", 0, ""),
    city!(Region::De, "Düsseldorf", "NW", "", "40213", 0, ""),
];

/// Indices of the cities of a region.
pub(crate) fn cities_of(region: Region) -> Vec<usize> {
    CITIES.iter().enumerate().filter(|(_, c)| c.region == region).map(|(i, _)| i).collect()
}

/// A city name without the trailing `市` (how POS systems and canonical records write it).
pub(crate) fn short_city(name: &str) -> &str {
    name.strip_suffix('市').unwrap_or(name)
}

pub(crate) const CN_STREETS: &[&str] = &[
    "高新南七道",
    "科苑路",
    "深南大道",
    "福华三路",
    "天河路",
    "体育西路",
    "世纪大道",
    "张杨路",
    "建国路",
    "文三路",
    "东莞大道",
    "季华路",
];
pub(crate) const US_STREETS: &[&str] = &[
    "Main St",
    "Sunset Blvd",
    "Market St",
    "Broadway",
    "Mission St",
    "Pine Ave",
    "Oak St",
    "Lake Ave",
    "Harbor Dr",
    "Park Ave",
];
pub(crate) const DE_STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Schillerstraße",
    "Goethestraße",
    "Lindenallee",
    "Gartenweg",
    "Müllerstraße",
    "Friedrichstraße",
];

/// Chinese family names with their pinyin (for e-mail addresses).
pub(crate) const CN_FAMILY: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
];
pub(crate) const CN_GIVEN: &[(&str, &str)] = &[
    ("芳", "fang"),
    ("强", "qiang"),
    ("伟", "wei"),
    ("静", "jing"),
    ("敏", "min"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("娜", "na"),
    ("杰", "jie"),
    ("婷", "ting"),
    ("军", "jun"),
    ("丽", "li"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("超", "chao"),
    ("晨", "chen"),
    ("欣怡", "xinyi"),
    ("子涵", "zihan"),
    ("浩然", "haoran"),
    ("雨桐", "yutong"),
];
pub(crate) const US_FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "Daniel",
    "Sarah",
    "Kevin",
    "Emily",
    "Brian",
    "Jessica",
    "Wei",
    "Grace",
    "Kenji",
    "Sofia",
];
pub(crate) const US_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Nguyen",
    "Chen",
    "Kim",
    "Lee",
    "Walker",
    "Young",
];
pub(crate) const DE_FIRST: &[&str] = &[
    "Lukas",
    "Anna",
    "Jonas",
    "Lea",
    "Felix",
    "Marie",
    "Maximilian",
    "Sophie",
    "Paul",
    "Jörg",
    "Jürgen",
    "Lena",
    "Tobias",
    "Katrin",
];
pub(crate) const DE_LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schröder",
    "Koch",
    "Zhang",
    "Weiß",
];

/// Chinese mobile prefixes (China Mobile, Unicom, Telecom).
pub(crate) const CN_MOBILE_PREFIXES: &[&str] =
    &["138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188", "189", "177", "199"];

/// US area codes used for synthetic `555-01xx` numbers (reserved for fiction).
pub(crate) const US_AREA_CODES: &[&str] = &[
    "213", "310", "323", "415", "408", "510", "619", "626", "650", "714", "805", "818", "858", "909", "925", "949",
    "206", "253", "425", "702", "725", "503", "971", "602", "480", "512", "646", "917", "718", "347",
];

/// Reasons a customer asks for money back (`reason`/`note` fields).
pub(crate) const REFUND_REASONS_EN: &[&str] =
    &["Cartridge not compatible", "Customer changed mind", "Damaged in transit", "Ordered wrong size"];
pub(crate) const REFUND_REASONS_ZH: &[&str] = &["尺寸不合适", "不想要了", "运输途中损坏", "与描述不符"];

/// `(store_id, city without 市, salespeople)` of the default POS shop.
pub(crate) const POS_STORES: &[(&str, &str, &[&str])] = &[
    ("SZ-NS-01", "深圳", &["王芳", "李强"]),
    ("SZ-FT-02", "深圳", &["刘洋", "赵敏"]),
    ("GZ-TH-01", "广州", &["陈静", "黄磊"]),
];

/// The central warehouse every store is replenished from.
pub(crate) const CENTRAL_WAREHOUSE: &str = "WH-SZ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_unique_and_priced() {
        for (i, s) in CATALOG.iter().enumerate() {
            assert_eq!(sku_index(s.sku), Some(i), "{} appears twice", s.sku);
            assert!(s.cny > 0 && s.usd > 0 && s.eur > 0, "{} has no price", s.sku);
        }
        for wanted in ["WP-RO-500", "WP-UF-300", "FLT-PP-10", "FLT-CTO-10", "FLT-RO-75", "SVC-INSTALL"] {
            assert!(sku_index(wanted).is_some(), "{wanted} missing");
        }
    }

    #[test]
    fn every_region_has_cities() {
        for r in [Region::Cn, Region::Us, Region::De] {
            assert!(!cities_of(r).is_empty());
        }
        assert_eq!(short_city("深圳市"), "深圳");
        assert_eq!(short_city("Berlin"), "Berlin");
    }
}
