//! The customer pool: people in China, the US and Germany with unique phones and e-mails.
//! The same person may buy on several platforms, so phones and e-mails recur across channels
//! (which is what member unification has to cope with).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{
    cities_of, Region, CITIES, CN_FAMILY, CN_GIVEN, CN_MOBILE_PREFIXES, CN_STREETS, DE_FIRST, DE_LAST, DE_STREETS,
    US_AREA_CODES, US_FIRST, US_LAST, US_STREETS,
};
use super::text::{base62_of, mix};

/// One customer.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub index: usize,
    pub region: Region,
    /// Given name (Chinese: 名).
    pub first: String,
    /// Family name (Chinese: 姓).
    pub last: String,
    /// The national number: CN `13812345678`, US `3105550123`, DE `15210123456`.
    pub mobile: String,
    pub email: Option<String>,
    /// Home city (index into `CITIES`).
    pub city: usize,
    pub street: String,
    /// Youzan sends this buyer's personal data encrypted (`$…$1$`).
    pub youzan_encrypted: bool,
}

impl Person {
    /// Full name as written in the person's culture.
    pub(crate) fn full_name(&self) -> String {
        match self.region {
            Region::Cn => format!("{}{}", self.last, self.first),
            _ => format!("{} {}", self.first, self.last),
        }
    }

    /// The phone in E.164 (`+8613812345678`).
    pub(crate) fn e164(&self) -> String {
        format!("{}{}", self.country_prefix(), self.mobile)
    }

    fn country_prefix(&self) -> &'static str {
        match self.region {
            Region::Cn => "+86",
            Region::Us => "+1",
            Region::De => "+49",
        }
    }

    /// The phone as people type it into a form: `(310) 555-0123`, `+49 1521 0123456`,
    /// `+86 138 1234 5678`.
    pub(crate) fn phone_typed(&self) -> String {
        let m = &self.mobile;
        match self.region {
            Region::Us if m.len() == 10 => format!("({}) {}-{}", &m[..3], &m[3..6], &m[6..]),
            Region::De if m.len() > 4 => format!("+49 {} {}", &m[..4], &m[4..]),
            Region::Cn if m.len() == 11 => format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]),
            _ => self.e164(),
        }
    }

    /// Shopify customer id.
    pub(crate) fn shopify_id(&self) -> u64 {
        7_301_245_000_000 + self.index as u64 * 131 + mix(self.index as u64) % 100
    }

    /// WooCommerce customer (WordPress user) id.
    pub(crate) fn woo_id(&self) -> u64 {
        12 + self.index as u64 * 3
    }

    /// Youzan `yz_open_id`.
    pub(crate) fn yz_open_id(&self) -> String {
        format!("{}{}", base62_of(mix(self.index as u64 ^ 0x5A5A), 6), 651_204_987_345_612_800u64 + self.index as u64)
    }

    /// Youzan `buyer_id` and `fans_id`.
    pub(crate) fn youzan_ids(&self) -> (u64, u64) {
        (1_283_746_501 + self.index as u64 * 7, 13_582_046_711 + self.index as u64 * 11)
    }

    /// WeChat `openid` (Youzan `outer_user_id`).
    pub(crate) fn wechat_openid(&self) -> String {
        format!("oQx5d0{}", base62_of(mix(self.index as u64 ^ 0xC0FFEE), 22))
    }

    /// The dealer's own membership number (POS).
    pub(crate) fn member_id(&self) -> String {
        format!("M{:08}", 12_345 + self.index * 7)
    }

    /// Tmall buyer id (Taobao open uid); marketplaces send no plain phone.
    pub(crate) fn tmall_id(&self) -> String {
        format!("AAH{}", base62_of(mix(self.index as u64 ^ 0x7A11), 21))
    }

    /// JD buyer pin.
    pub(crate) fn jd_pin(&self) -> String {
        format!("jd_{}", &base62_of(mix(self.index as u64 ^ 0x1D), 12).to_ascii_lowercase())
    }
}

/// The pool, with its people grouped by region.
#[derive(Debug)]
pub(crate) struct People {
    pub persons: Vec<Person>,
    by_region: [Vec<usize>; 3],
    /// Whether each person already signed up for the membership card.
    pub signed_up: Vec<bool>,
}

fn region_slot(r: Region) -> usize {
    match r {
        Region::Cn => 0,
        Region::Us => 1,
        Region::De => 2,
    }
}

impl People {
    /// A pool of `size` people (at least a few per region).
    pub(crate) fn new(rng: &mut ChaCha8Rng, size: usize) -> People {
        let size = size.max(24);
        let n_us = (size * 18 / 100).max(6);
        let n_de = (size * 12 / 100).max(6);
        let n_cn = size.saturating_sub(n_us + n_de).max(12);
        let cn_offset: u64 = rng.gen_range(0..100_000_000);
        let de_offset: u64 = rng.gen_range(0..10_000_000);
        let mut persons = Vec::with_capacity(n_cn + n_us + n_de);
        let mut by_region: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let cities = [cities_of(Region::Cn), cities_of(Region::Us), cities_of(Region::De)];
        for (region, count) in [(Region::Cn, n_cn), (Region::Us, n_us), (Region::De, n_de)] {
            for k in 0..count {
                let index = persons.len();
                let slot = region_slot(region);
                let city = cities[slot][rng.gen_range(0..cities[slot].len())];
                let kk = k as u64;
                let (first, last, mobile, email, street) = match region {
                    Region::Cn => {
                        let (fam, fam_py) = CN_FAMILY[rng.gen_range(0..CN_FAMILY.len())];
                        let (giv, giv_py) = CN_GIVEN[rng.gen_range(0..CN_GIVEN.len())];
                        let prefix = CN_MOBILE_PREFIXES[k % CN_MOBILE_PREFIXES.len()];
                        // A bijection on 0..10^8 (48271 is coprime with 10^8): unique numbers.
                        let sub = (kk * 48_271 + cn_offset) % 100_000_000;
                        let email = rng.gen_bool(0.6).then(|| {
                            let domain = ["example.cn", "example.com", "mail.example.cn"][k % 3];
                            format!("{giv_py}.{fam_py}{}@{domain}", 10 + k)
                        });
                        let street = format!(
                            "{}{}号{}栋{}",
                            CN_STREETS[rng.gen_range(0..CN_STREETS.len())],
                            rng.gen_range(1..300),
                            rng.gen_range(1..20),
                            rng.gen_range(101..2999)
                        );
                        (giv.to_string(), fam.to_string(), format!("{prefix}{sub:08}"), email, street)
                    }
                    Region::Us => {
                        let first = US_FIRST[rng.gen_range(0..US_FIRST.len())];
                        let last = US_LAST[rng.gen_range(0..US_LAST.len())];
                        let area = US_AREA_CODES[k % US_AREA_CODES.len()];
                        let line = 100 + k / US_AREA_CODES.len();
                        let email =
                            format!("{}.{}{}@example.com", first.to_ascii_lowercase(), last.to_ascii_lowercase(), k);
                        let street =
                            format!("{} {}", rng.gen_range(10..9999), US_STREETS[rng.gen_range(0..US_STREETS.len())]);
                        (first.to_string(), last.to_string(), format!("{area}555{line:04}"), Some(email), street)
                    }
                    Region::De => {
                        let first = DE_FIRST[rng.gen_range(0..DE_FIRST.len())];
                        let last = DE_LAST[rng.gen_range(0..DE_LAST.len())];
                        let sub = (kk * 7_919 + de_offset) % 10_000_000;
                        let email = format!("{}.{}{}@example.de", ascii_fold(first), ascii_fold(last), k);
                        let street =
                            format!("{} {}", DE_STREETS[rng.gen_range(0..DE_STREETS.len())], rng.gen_range(1..180));
                        (first.to_string(), last.to_string(), format!("1521{sub:07}"), Some(email), street)
                    }
                };
                persons.push(Person {
                    index,
                    region,
                    first,
                    last,
                    mobile,
                    email,
                    city,
                    street,
                    youzan_encrypted: region == Region::Cn && rng.gen_bool(0.2),
                });
                by_region[slot].push(index);
            }
        }
        let signed_up = vec![false; persons.len()];
        People { persons, by_region, signed_up }
    }

    /// Someone from `region`; low indices come back more often (regulars).
    pub(crate) fn pick(&self, rng: &mut ChaCha8Rng, region: Region) -> usize {
        let list = &self.by_region[region_slot(region)];
        let u: f64 = rng.gen();
        let i = ((u * u) * list.len() as f64) as usize;
        list[i.min(list.len() - 1)]
    }

    pub(crate) fn get(&self, index: usize) -> &Person {
        &self.persons[index]
    }
}

/// `Müller` → `mueller`, for e-mail local parts.
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The city a person ships to for a shop in `region`: home if it is in that region, else a
/// fixed city there (an address abroad).
pub(crate) fn ship_city(person: &Person, region: Region) -> usize {
    if CITIES[person.city].region == region {
        return person.city;
    }
    let list = cities_of(region);
    list[person.index % list.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn phones_and_emails_are_unique() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let people = People::new(&mut rng, 5_000);
        let phones: HashSet<String> = people.persons.iter().map(Person::e164).collect();
        assert_eq!(phones.len(), people.persons.len());
        let emails: Vec<&String> = people.persons.iter().filter_map(|p| p.email.as_ref()).collect();
        let unique: HashSet<&&String> = emails.iter().collect();
        assert_eq!(unique.len(), emails.len());
        let cn = people.persons.iter().find(|p| p.region == Region::Cn).expect("a Chinese customer");
        assert_eq!(cn.mobile.len(), 11);
        assert!(cn.phone_typed().starts_with("+86 1"));
        assert_eq!(ascii_fold("Jörg Weiß"), "joergweiss");
    }
}
