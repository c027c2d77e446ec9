//! Wisconsin geography: the 72 counties, their metro areas, and synthetic census tracts.

use crate::rng::{Dist, Rng};

/// (county FIPS within the state, name, 2020 population in thousands, CBSA / MSA-MD code or 99999)
pub const COUNTIES: [(u16, &str, f64, u32); 72] = [
    (1, "Adams", 20.7, 99999),
    (3, "Ashland", 16.0, 99999),
    (5, "Barron", 46.7, 99999),
    (7, "Bayfield", 16.2, 99999),
    (9, "Brown", 268.7, 24580),
    (11, "Buffalo", 13.3, 99999),
    (13, "Burnett", 16.5, 99999),
    (15, "Calumet", 52.4, 11540),
    (17, "Chippewa", 66.3, 20740),
    (19, "Clark", 34.7, 99999),
    (21, "Columbia", 58.5, 31540),
    (23, "Crawford", 16.1, 99999),
    (25, "Dane", 561.5, 31540),
    (27, "Dodge", 89.4, 99999),
    (29, "Door", 30.1, 99999),
    (31, "Douglas", 44.3, 20260),
    (33, "Dunn", 45.4, 99999),
    (35, "Eau Claire", 105.7, 20740),
    (37, "Florence", 4.6, 99999),
    (39, "Fond du Lac", 104.2, 22540),
    (41, "Forest", 9.2, 99999),
    (43, "Grant", 51.9, 99999),
    (45, "Green", 37.1, 31540),
    (47, "Green Lake", 19.0, 99999),
    (49, "Iowa", 23.7, 31540),
    (51, "Iron", 6.1, 99999),
    (53, "Jackson", 21.1, 99999),
    (55, "Jefferson", 84.9, 99999),
    (57, "Juneau", 26.7, 99999),
    (59, "Kenosha", 169.2, 29404),
    (61, "Kewaunee", 20.6, 24580),
    (63, "La Crosse", 120.8, 29100),
    (65, "Lafayette", 16.8, 99999),
    (67, "Langlade", 19.5, 99999),
    (69, "Lincoln", 28.4, 48140),
    (71, "Manitowoc", 81.4, 99999),
    (73, "Marathon", 138.0, 48140),
    (75, "Marinette", 41.9, 99999),
    (77, "Marquette", 15.6, 99999),
    (78, "Menominee", 4.3, 99999),
    (79, "Milwaukee", 939.5, 33340),
    (81, "Monroe", 46.3, 99999),
    (83, "Oconto", 38.9, 24580),
    (85, "Oneida", 37.8, 99999),
    (87, "Outagamie", 190.7, 11540),
    (89, "Ozaukee", 91.5, 33340),
    (91, "Pepin", 7.3, 99999),
    (93, "Pierce", 42.2, 33460),
    (95, "Polk", 44.9, 99999),
    (97, "Portage", 70.4, 99999),
    (99, "Price", 14.1, 99999),
    (101, "Racine", 197.7, 39540),
    (103, "Richland", 17.3, 99999),
    (105, "Rock", 163.7, 27500),
    (107, "Rusk", 14.2, 99999),
    (109, "St. Croix", 93.5, 33460),
    (111, "Sauk", 65.8, 99999),
    (113, "Sawyer", 18.1, 99999),
    (115, "Shawano", 40.9, 99999),
    (117, "Sheboygan", 118.0, 43100),
    (119, "Taylor", 19.9, 99999),
    (121, "Trempealeau", 30.8, 99999),
    (123, "Vernon", 30.7, 99999),
    (125, "Vilas", 23.0, 99999),
    (127, "Walworth", 106.5, 99999),
    (129, "Washburn", 16.6, 99999),
    (131, "Washington", 136.8, 33340),
    (133, "Waukesha", 406.9, 33340),
    (135, "Waupaca", 51.8, 99999),
    (137, "Waushara", 24.5, 99999),
    (139, "Winnebago", 171.7, 36780),
    (141, "Wood", 74.2, 99999),
];

/// The ten largest counties by applications, with their share of all rows.
const TOP: [(u16, f64); 10] = [
    (79, 0.1000),  // Milwaukee
    (25, 0.0905),  // Dane
    (133, 0.0820), // Waukesha
    (9, 0.0460),   // Brown
    (101, 0.0380), // Racine
    (87, 0.0360),  // Outagamie
    (59, 0.0340),  // Kenosha
    (131, 0.0322), // Washington
    (105, 0.0310), // Rock
    (139, 0.0300), // Winnebago
];

/// Share of rows whose county is unknown (NULL county_code and census_tract).
pub const NULL_COUNTY_SHARE: f64 = 0.0062;

/// Activity relative to population for the other counties (second homes up north, commuter growth).
fn activity_multiplier(fips: u16) -> f64 {
    match fips {
        125 => 1.7,                          // Vilas
        29 | 113 => 1.6,                     // Door, Sawyer
        85 | 13 | 37 | 1 | 51 => 1.45,       // Oneida, Burnett, Florence, Adams, Iron
        7 | 129 | 77 | 137 | 47 | 41 => 1.3, // Bayfield, Washburn, Marquette, Waushara, Green Lake, Forest
        109 => 1.3,                          // St. Croix
        127 | 95 | 57 | 99 => 1.15,          // Walworth, Polk, Juneau, Price
        89 | 93 => 1.1,                      // Ozaukee, Pierce
        63 | 35 | 97 => 0.9,                 // college towns
        78 => 0.5,                           // Menominee (mostly tribal trust land)
        _ => 1.0,
    }
}

/// House-price level relative to the state.
fn price_factor(fips: u16) -> f64 {
    match fips {
        89 => 1.45,
        133 => 1.40,
        25 => 1.30,
        109 => 1.28,
        29 => 1.22,
        131 => 1.18,
        127 => 1.15,
        125 => 1.15,
        93 => 1.08,
        55 | 21 | 15 => 1.05,
        45 | 49 | 111 | 87 | 9 | 59 | 85 => 1.0,
        101 => 0.95,
        35 | 63 | 17 | 117 => 0.95,
        139 | 39 | 73 | 97 | 71 => 0.9,
        79 | 105 => 0.85,
        78 => 0.6,
        3 | 7 | 51 | 99 | 107 | 41 | 119 | 19 | 67 | 23 | 103 | 65 | 11 | 53 => 0.72,
        _ => 0.8,
    }
}

/// (mean, spread) of the minority population percent of the county's tracts.
fn minority_profile(fips: u16) -> (f64, f64) {
    match fips {
        79 => (50.0, 30.0),
        78 => (90.0, 4.0),
        101 => (28.0, 18.0),
        59 => (27.0, 14.0),
        25 => (24.0, 11.0),
        9 => (22.0, 11.0),
        105 => (19.0, 10.0),
        113 | 3 | 41 => (20.0, 13.0),
        7 | 115 | 53 | 125 => (13.0, 9.0),
        87 | 139 | 133 | 73 | 35 | 63 | 117 | 127 | 97 | 39 => (11.0, 5.5),
        _ => (6.0, 3.5),
    }
}

/// FFIEC estimated median family income of the MSA/MD (2021), dollars.
pub fn msa_median_income(msa: u32) -> u32 {
    match msa {
        33340 => 87_100,
        31540 => 105_400,
        24580 => 87_900,
        39540 => 84_400,
        11540 => 93_300,
        29404 => 108_200,
        27500 => 76_800,
        36780 => 85_300,
        20740 => 83_500,
        22540 => 84_800,
        29100 => 84_100,
        43100 => 86_300,
        48140 => 86_900,
        33460 => 110_300,
        20260 => 80_400,
        _ => 71_900,
    }
}

#[derive(Clone, Debug)]
pub struct Tract {
    /// 11-digit census tract code: state(2) county(3) tract(6)
    pub code: String,
    pub population: i64,
    /// minority population percent, hundredths
    pub minority_pct_x100: i64,
    /// tract-to-MSA income percentage, hundredths
    pub income_pct_x100: i64,
    pub owner_occupied: i64,
    pub one_to_four: i64,
    pub median_age: i64,
}

#[derive(Clone, Debug)]
pub struct County {
    pub fips: u16,
    pub code: i64, // 55xxx
    pub name: &'static str,
    pub msa: u32,
    pub msa_income: u32,
    pub price: f64,
    pub rural: bool,
    /// vacation-home county: more second homes
    pub vacation: bool,
    pub share: f64,
    pub tracts: Vec<Tract>,
    /// where the county's applications fall among its tracts
    pub tract_dist: Dist,
}

pub fn build_counties(seed: u64) -> Vec<County> {
    let top_total: f64 = TOP.iter().map(|t| t.1).sum();
    let rest_weight: f64 = COUNTIES
        .iter()
        .filter(|c| !TOP.iter().any(|t| t.0 == c.0))
        .map(|c| c.2 * activity_multiplier(c.0))
        .sum();
    let rest_share = 1.0 - NULL_COUNTY_SHARE - top_total;
    let mut out = Vec::with_capacity(72);
    for (idx, &(fips, name, pop_k, msa)) in COUNTIES.iter().enumerate() {
        let share = match TOP.iter().find(|t| t.0 == fips) {
            Some(t) => t.1,
            None => rest_share * pop_k * activity_multiplier(fips) / rest_weight,
        };
        let mut rng = Rng::derive(seed, 0x7261_6374_0000 + idx as u64);
        let (tracts, weights) = make_tracts(&mut rng, fips, pop_k, msa);
        out.push(County {
            fips,
            code: 55_000 + fips as i64,
            name,
            msa,
            msa_income: msa_median_income(msa),
            price: price_factor(fips),
            rural: msa == 99999,
            vacation: activity_multiplier(fips) >= 1.3 && fips != 109,
            share,
            tract_dist: Dist::new(&weights),
            tracts,
        });
    }
    out
}

fn make_tracts(rng: &mut Rng, fips: u16, pop_k: f64, msa: u32) -> (Vec<Tract>, Vec<f64>) {
    let per_tract = if fips == 79 { 3.2 } else { 4.1 };
    let n = ((pop_k / per_tract).round() as usize).max(2);
    let rural_numbering = msa == 99999 && n < 30;
    let (mmean, mspread) = minority_profile(fips);
    let mut tracts = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    let mut base: i64 = if rural_numbering { 9501 } else { 1 };
    let mut i = 0;
    while i < n {
        // some tracts were split into .01/.02 (and rarely .03) parts
        let parts = if n - i >= 2 && rng.chance(0.18) { 2 } else { 1 };
        for p in 0..parts {
            let suffix = if parts == 1 { 0 } else { p as i64 + 1 };
            let tract6 = base * 100 + suffix;
            tracts.push(make_tract(rng, fips, tract6, mmean, mspread));
            i += 1;
        }
        base += if rural_numbering {
            1
        } else {
            1 + (rng.below(100) < 35) as i64 * rng.range(1, 9)
        };
    }
    for t in &tracts {
        // applications follow owner-occupied housing, with lumpy local variation
        let w = t.owner_occupied as f64
            * (0.45 + rng.f64() * 1.1)
            * (t.income_pct_x100 as f64 / 10_000.0).sqrt();
        weights.push(w.max(1.0));
    }
    (tracts, weights)
}

fn make_tract(rng: &mut Rng, fips: u16, tract6: i64, mmean: f64, mspread: f64) -> Tract {
    let population = (4_100.0 + 1_300.0 * rng.normalish())
        .round()
        .clamp(600.0, 9_800.0) as i64;
    let minority = if fips == 79 {
        // Milwaukee: strongly bimodal
        if rng.chance(0.42) {
            65.0 + 30.0 * rng.f64()
        } else {
            8.0 + 32.0 * rng.f64() * rng.f64() + 4.0 * rng.normalish()
        }
    } else {
        let x = mmean + mspread * rng.normalish();
        if x < 1.0 { 0.5 + rng.f64() * 2.5 } else { x }
    }
    .clamp(0.4, 99.6);
    let minority_pct_x100 = (minority * 100.0).round() as i64;
    let inc_mean = if fips == 79 { 92.0 } else { 102.0 };
    let inc = (inc_mean - 0.55 * (minority - mmean) + 27.0 * rng.normalish()).clamp(18.0, 260.0);
    let income_pct_x100 = (inc * 100.0).round() as i64;
    let own_share = (0.16 + 0.0016 * inc + 0.05 * rng.normalish()).clamp(0.05, 0.5);
    let owner_occupied = (population as f64 * own_share).round() as i64;
    let one_to_four =
        (population as f64 * (0.36 + 0.07 * rng.normalish()).clamp(0.12, 0.6)).round() as i64;
    let median_age = (46.0 + 14.0 * rng.normalish()).round().clamp(4.0, 76.0) as i64;
    Tract {
        code: format!("55{:03}{:06}", fips, tract6),
        population,
        minority_pct_x100,
        income_pct_x100,
        owner_occupied,
        one_to_four,
        median_age,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventy_two_counties_shares_and_ranking() {
        let cs = build_counties(544);
        assert_eq!(cs.len(), 72);
        let total: f64 = cs.iter().map(|c| c.share).sum::<f64>() + NULL_COUNTY_SHARE;
        assert!((total - 1.0).abs() < 1e-9);
        let mut by: Vec<(f64, u16)> = cs.iter().map(|c| (c.share, c.fips)).collect();
        by.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
        let top: Vec<u16> = by.iter().take(10).map(|x| x.1).collect();
        assert_eq!(top, TOP.iter().map(|t| t.0).collect::<Vec<_>>());
        for c in &cs {
            assert!(c.tracts.len() >= 2);
            for t in &c.tracts {
                assert_eq!(t.code.len(), 11);
                assert!(t.code.starts_with(&format!("{}", c.code)));
            }
        }
    }
}
