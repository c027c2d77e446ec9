//! The row plan: which loan type, county and amount class every row gets, with the headline
//! figures hit exactly by construction (then checked again on the generated rows).

use crate::alloc::apportion;
use crate::geo::{County, NULL_COUNTY_SHARE};
use crate::lenders::Pool;
use crate::rng::Rng;

/// Rows of `loans` at scale 1.
pub const BASE_TOTAL: u64 = 447_367;
/// Rows per loan_type_id 1..4 at scale 1.
pub const BASE_TYPE_COUNTS: [u64; 4] = [389_217, 30_496, 24_551, 3_103];
/// Rows with 30000 < loan_amount < 800000 at scale 1.
pub const BASE_IN_RANGE: u64 = 426_716;
/// Rows with loan_amount <= 30000 (5000, 15000, 25000) at scale 1.
pub const BASE_SMALL: u64 = 14_620;
/// Rows with loan_amount >= 800000 (805000 and up) at scale 1.
pub const BASE_LARGE: u64 = BASE_TOTAL - BASE_IN_RANGE - BASE_SMALL;
/// The largest loan_amount in the data.
pub const MAX_AMOUNT: f64 = 264_185_000.0;

/// Index of the "unknown county" pseudo-county (NULL county_code).
pub const NULL_COUNTY: u8 = 72;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// loan_amount <= 30000
    Small,
    /// 30000 < loan_amount < 800000
    In,
    /// loan_amount >= 800000
    Large,
}

#[derive(Clone, Copy, Debug)]
pub struct PlanRow {
    /// loan type index 0..4 (loan_type_id - 1)
    pub ty: u8,
    /// county index into `counties`, or NULL_COUNTY
    pub county: u8,
    pub class: Class,
    /// index into the lender pool (assigned by `order_by_lender`)
    pub lender: u16,
    /// this row gets the largest loan amount
    pub is_max: bool,
}

pub struct Plan {
    pub rows: Vec<PlanRow>,
}

/// Relative propensity of a loan type in a county (FHA in the cities, RHS in the countryside).
fn type_affinity(ty: usize, c: &County) -> f64 {
    match ty {
        1 => match c.fips {
            79 => 1.7,
            101 | 59 | 105 => 1.35,
            25 => 0.65,
            133 | 89 => 0.55,
            _ => {
                if c.rural {
                    0.95
                } else {
                    1.0
                }
            }
        },
        2 if c.rural => 1.15,
        2 => 1.0,
        3 => match c.fips {
            79 => 0.01,
            25 | 133 | 89 => 0.12,
            _ => {
                if c.rural {
                    2.6
                } else {
                    0.7
                }
            }
        },
        _ => 1.0,
    }
}

/// Where small (<= 30000) loans are over-represented: cheap city houses and rural HELOCs.
fn small_affinity(c: &County) -> f64 {
    match c.fips {
        79 => 1.5,
        _ => {
            if c.rural {
                1.25
            } else {
                1.0
            }
        }
    }
}

/// Where large (>= 800000) loans are: expensive suburbs, lake homes, city apartment buildings.
fn large_affinity(c: &County) -> f64 {
    let p = c.price;
    let urban = match c.fips {
        79 | 25 => 1.6,
        9 | 139 | 87 | 63 | 35 => 0.3,
        _ => 0.0,
    };
    p * p * p * p + urban
}

/// Builds the plan for `scale` copies of the base figures. Exact: per-type counts, in-range
/// count, small/large counts. Every county gets in-range rows (checked).
pub fn make_plan(seed: u64, scale: u64, counties: &[County]) -> Plan {
    assert!(scale >= 1);
    assert_eq!(counties.len(), 72);
    assert_eq!(BASE_TYPE_COUNTS.iter().sum::<u64>(), BASE_TOTAL);
    let type_counts: Vec<u64> = BASE_TYPE_COUNTS.iter().map(|n| n * scale).collect();
    let small_total = BASE_SMALL * scale;
    let large_total = BASE_LARGE * scale;

    // small / large rows per type
    let small_w = [1.0, 0.10, 0.07, 0.03];
    let large_w = [1.0, 0.0, 0.03, 0.0];
    let small_by_type = apportion(
        small_total,
        &(0..4)
            .map(|t| type_counts[t] as f64 * small_w[t])
            .collect::<Vec<_>>(),
    );
    let large_by_type = apportion(
        large_total,
        &(0..4)
            .map(|t| type_counts[t] as f64 * large_w[t])
            .collect::<Vec<_>>(),
    );

    let mut rows: Vec<PlanRow> = Vec::with_capacity((BASE_TOTAL * scale) as usize);
    for t in 0..4 {
        // counties of this type (index 72: unknown county)
        let mut w: Vec<f64> = counties
            .iter()
            .map(|c| c.share * type_affinity(t, c))
            .collect();
        w.push(NULL_COUNTY_SHARE);
        let per_county = apportion(type_counts[t], &w);
        let mut sw: Vec<f64> = counties
            .iter()
            .enumerate()
            .map(|(i, c)| per_county[i] as f64 * small_affinity(c))
            .collect();
        sw.push(per_county[72] as f64);
        let small = apportion(small_by_type[t], &sw);
        let large = if large_by_type[t] > 0 {
            let mut lw: Vec<f64> = counties
                .iter()
                .enumerate()
                .map(|(i, c)| per_county[i] as f64 * large_affinity(c))
                .collect();
            lw.push(per_county[72] as f64 * 0.5);
            apportion(large_by_type[t], &lw)
        } else {
            vec![0; 73]
        };
        for ci in 0..73 {
            let n = per_county[ci];
            assert!(
                small[ci] + large[ci] <= n,
                "county index {ci}, type {t}: {} small + {} large > {n} rows",
                small[ci],
                large[ci]
            );
            let push = |rows: &mut Vec<PlanRow>, k: u64, class: Class| {
                for _ in 0..k {
                    rows.push(PlanRow {
                        ty: t as u8,
                        county: ci as u8,
                        class,
                        lender: 0,
                        is_max: false,
                    });
                }
            };
            push(&mut rows, small[ci], Class::Small);
            push(&mut rows, large[ci], Class::Large);
            push(&mut rows, n - small[ci] - large[ci], Class::In);
        }
    }
    let mut rng = Rng::derive(seed, 0x706c_616e);
    rng.shuffle(&mut rows);
    // The largest loan: a conventional apartment-building loan in Milwaukee or Dane county.
    let big = |r: &PlanRow| {
        r.ty == 0
            && r.class == Class::Large
            && (r.county as usize) < 72
            && matches!(counties[r.county as usize].fips, 79 | 25)
    };
    let max_row = rows
        .iter()
        .position(big)
        .or_else(|| rows.iter().position(|r| r.class == Class::Large))
        .expect("the plan has a large loan");
    rows[max_row].is_max = true;
    let plan = Plan { rows };
    check_plan(&plan, scale);
    plan
}

/// Picks the reporting institution of every row (by county and loan type) and orders the rows by
/// LEI, the way the public LAR is published (institution by institution); within one institution
/// the rows keep their random order.
pub fn order_by_lender(plan: &mut Plan, seed: u64, pool: &Pool) {
    let mut rng = Rng::derive(seed, 0x6c65_6932);
    for r in plan.rows.iter_mut() {
        r.lender = pool.by_county_type[r.county as usize][r.ty as usize].sample(&mut rng) as u16;
    }
    let mut rank: Vec<usize> = (0..pool.lenders.len()).collect();
    rank.sort_by(|&a, &b| pool.lenders[a].lei.cmp(&pool.lenders[b].lei));
    let mut pos = vec![0usize; pool.lenders.len()];
    for (i, &l) in rank.iter().enumerate() {
        pos[l] = i;
    }
    plan.rows.sort_by_key(|r| pos[r.lender as usize]); // stable
}

/// Counts of the plan by type and class, and in-range rows per county.
pub struct PlanCounts {
    pub total: u64,
    pub by_type: [u64; 4],
    pub in_range: u64,
    pub small: u64,
    pub large: u64,
    pub in_range_by_county: [u64; 73],
}

pub fn count_plan(plan: &Plan) -> PlanCounts {
    let mut c = PlanCounts {
        total: 0,
        by_type: [0; 4],
        in_range: 0,
        small: 0,
        large: 0,
        in_range_by_county: [0; 73],
    };
    for r in &plan.rows {
        c.total += 1;
        c.by_type[r.ty as usize] += 1;
        match r.class {
            Class::In => {
                c.in_range += 1;
                c.in_range_by_county[r.county as usize] += 1;
            }
            Class::Small => c.small += 1,
            Class::Large => c.large += 1,
        }
    }
    c
}

#[allow(clippy::needless_range_loop)]
fn check_plan(plan: &Plan, scale: u64) {
    let c = count_plan(plan);
    assert_eq!(c.total, BASE_TOTAL * scale, "plan total");
    for t in 0..4 {
        assert_eq!(
            c.by_type[t],
            BASE_TYPE_COUNTS[t] * scale,
            "plan type {}",
            t + 1
        );
    }
    assert_eq!(c.in_range, BASE_IN_RANGE * scale, "plan in-range");
    for (i, n) in c.in_range_by_county.iter().enumerate().take(72) {
        assert!(*n > 0, "county index {i} has no in-range rows");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::build_counties;

    #[test]
    fn exact_figures_at_scale_1_and_2() {
        let counties = build_counties(544);
        for scale in [1u64, 2] {
            let plan = make_plan(544, scale, &counties);
            let c = count_plan(&plan);
            assert_eq!(c.total, 447_367 * scale);
            assert_eq!(
                c.by_type,
                [
                    389_217 * scale,
                    30_496 * scale,
                    24_551 * scale,
                    3_103 * scale
                ]
            );
            assert_eq!(c.in_range, 426_716 * scale);
            assert_eq!(c.small + c.large, (447_367 - 426_716) * scale);
            assert!(c.in_range_by_county[..72].iter().all(|&n| n > 0));
            // Milwaukee about 10 % of rows, the unknown county a fraction of a percent
            let mke = counties.iter().position(|x| x.fips == 79).unwrap();
            let n_mke = plan
                .rows
                .iter()
                .filter(|r| r.county as usize == mke)
                .count() as f64;
            let share = n_mke / c.total as f64;
            assert!((0.095..0.112).contains(&share), "Milwaukee share {share}");
            let maxes: Vec<&PlanRow> = plan.rows.iter().filter(|r| r.is_max).collect();
            assert_eq!(maxes.len(), 1);
            assert_eq!((maxes[0].ty, maxes[0].class), (0, Class::Large));
        }
    }

    #[test]
    fn plan_is_deterministic_and_seed_dependent() {
        let counties = build_counties(1);
        let a = make_plan(1, 1, &counties);
        let b = make_plan(1, 1, &counties);
        let c = make_plan(2, 1, &counties);
        let key = |p: &Plan| {
            p.rows
                .iter()
                .take(5000)
                .map(|r| (r.ty, r.county, r.class as u8))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn ordering_by_lender_keeps_the_figures() {
        let counties = build_counties(544);
        let pool = crate::lenders::build_pool(544, &counties);
        let mut plan = make_plan(544, 1, &counties);
        let before = count_plan(&plan);
        order_by_lender(&mut plan, 544, &pool);
        let after = count_plan(&plan);
        assert_eq!(before.by_type, after.by_type);
        assert_eq!(before.in_range_by_county, after.in_range_by_county);
        assert_eq!(plan.rows.iter().filter(|r| r.is_max).count(), 1);
        let leis: Vec<&str> = plan
            .rows
            .iter()
            .map(|r| pool.lenders[r.lender as usize].lei.as_str())
            .collect();
        assert!(
            leis.windows(2).all(|w| w[0] <= w[1]),
            "rows are ordered by LEI"
        );
    }

    #[test]
    fn smallest_counties_have_a_few_hundred_rows() {
        let counties = build_counties(544);
        let plan = make_plan(544, 1, &counties);
        let mut per = [0u64; 73];
        for r in &plan.rows {
            per[r.county as usize] += 1;
        }
        let min = per[..72].iter().min().unwrap();
        assert!((100..600).contains(min), "smallest county has {min} rows");
        assert!(per[72] > 1000, "unknown-county rows {}", per[72]);
    }
}
