//! Synthesis of one `loans` row from its plan entry, and the writer of the whole dump.

use std::io::Write;

use crate::geo::{County, Tract};
use crate::lenders::{Kind, Lender, Pool};
use crate::plan::{Class, MAX_AMOUNT, NULL_COUNTY, Plan, PlanRow};
use crate::rng::{Rng, exp_det, pow_det};
use crate::schema::{self, LOAN_TYPES, LOANS_COLUMNS};

/// A short owned string on the stack (numbers formatted as text).
#[derive(Clone, Copy)]
pub struct SStr {
    len: u8,
    buf: [u8; 23],
}

impl SStr {
    fn new() -> Self {
        SStr {
            len: 0,
            buf: [0; 23],
        }
    }
    fn push(&mut self, b: u8) {
        self.buf[self.len as usize] = b;
        self.len += 1;
    }
    fn push_str(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.push(b);
        }
    }
    fn push_u64(&mut self, mut v: u64) {
        let mut tmp = [0u8; 20];
        let mut n = 0;
        loop {
            tmp[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            self.push(tmp[i]);
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).expect("ascii")
    }
}

/// `v / 10^decimals` as text with trailing zeros trimmed but at least one decimal:
/// (3000, 3) -> "3.0", (2875, 3) -> "2.875", (-123, 3) -> "-0.123".
pub fn fmt_trim(v: i64, decimals: u32) -> SStr {
    let mut s = SStr::new();
    if v < 0 {
        s.push(b'-');
    }
    let a = v.unsigned_abs();
    let p = 10u64.pow(decimals);
    s.push_u64(a / p);
    s.push(b'.');
    let mut frac = a % p;
    let mut digits = decimals;
    while digits > 1 && frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    let fs = format!("{:0width$}", frac, width = digits as usize);
    s.push_str(&fs);
    s
}

fn sint(v: i64) -> SStr {
    let mut s = SStr::new();
    if v < 0 {
        s.push(b'-');
    }
    s.push_u64(v.unsigned_abs());
    s
}

/// One SQL value.
#[derive(Clone, Copy)]
pub enum V<'a> {
    Unset,
    Null,
    I(i64),
    S(&'a str),
    O(SStr),
    F(f64),
    /// DECIMAL with two decimals, stored in hundredths
    D2(i64),
}

macro_rules! c {
    ($n:literal) => {{
        const I: usize = $crate::schema::col_index($n);
        I
    }};
}

pub fn push_int(out: &mut Vec<u8>, v: i64) {
    let s = sint(v);
    out.extend_from_slice(s.as_str().as_bytes());
}

fn emit_value(out: &mut Vec<u8>, v: &V<'_>) {
    match v {
        V::Unset => panic!("unset column"),
        V::Null => out.extend_from_slice(b"NULL"),
        V::I(i) => push_int(out, *i),
        V::S(s) => schema::push_str_lit(out, s),
        V::O(s) => schema::push_str_lit(out, s.as_str()),
        V::F(f) => {
            assert!(f.is_finite());
            write!(out, "{}", f).expect("write to Vec");
        }
        V::D2(d) => {
            if *d < 0 {
                out.push(b'-');
            }
            let a = d.unsigned_abs();
            write!(out, "{}.{:02}", a / 100, a % 100).expect("write to Vec");
        }
    }
}

/// Rounds a dollar amount to the midpoint of its $10,000 bin, as the public LAR does.
pub fn bin_midpoint(x: f64) -> f64 {
    ((x / 10_000.0).floor() * 10_000.0 + 5_000.0).max(5_000.0)
}

fn in_range(a: f64) -> bool {
    a > 30_000.0 && a < 800_000.0
}

/// Summary of what was generated, checked against the headline figures.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total: u64,
    pub by_type: [u64; 4],
    pub in_range: u64,
    pub in_range_by_county: Vec<u64>,
    pub null_county: u64,
    pub null_income: u64,
    pub max_amount: f64,
    pub bytes_sql: u64,
}

struct Ctx<'a> {
    counties: &'a [County],
    pool: &'a Pool,
}

/// Fills the 99 values of one row. Returns (loan_amount, income is NULL).
fn synth_row<'a>(rng: &mut Rng, ctx: &Ctx<'a>, p: PlanRow, r: &mut [V<'a>; 99]) -> (f64, bool) {
    let row = row_context(rng, ctx, p);
    let product = product(rng, &row);
    let amount = amount(rng, &row, &product);
    let action = action(rng, &row, &product);
    let people = people(rng, &row, &product, &action);
    let income_and_credit = income_and_credit(rng, &row, &product, amount.raw, &action, &people);
    let terms = terms(rng, &row, &product, amount.raw);
    let rates = rates(rng, &row, &product, &action, &terms);
    let costs = costs(rng, &row, &product, &action, amount.raw);
    let property_value = property_value(rng, &row, &product, &action, &amount);
    let purchaser_type = purchaser_type(rng, &row, &product, &action);
    let channel_aus_denial = channel_aus_denial(rng, &row, &product, &action);
    let derived = derived_categories(&row, &product, amount.raw);
    let income_null = income_and_credit.income.is_none();
    let decided = RowDecisions {
        row,
        product,
        amount,
        action,
        people,
        income_and_credit,
        terms,
        rates,
        costs,
        property_value,
        purchaser_type,
        channel_aus_denial,
        derived,
    };
    write_row(rng, &decided, r);
    (amount.amount, income_null)
}

/// The plan entry with its place and lender looked up: what every section of a row reads.
#[derive(Clone, Copy)]
struct RowCtx<'a> {
    /// this row gets the largest loan amount
    is_max: bool,
    /// loan type index 0..4 (loan_type_id - 1)
    t: usize,
    class: Class,
    county: Option<&'a County>,
    tract: Option<&'a Tract>,
    lender: &'a Lender,
    /// the lender is partially exempt: many fields are reported as Exempt / 1111
    ex: bool,
    rural: bool,
    vacation: bool,
    /// tract-to-MSA income percentage (100 without a tract)
    tract_inc: f64,
    /// tract minority population percent (15 without a tract)
    minority: f64,
    /// the row is in Menominee County
    menominee: bool,
}

/// Picks the row's census tract in its county and looks up its lender.
fn row_context<'a>(rng: &mut Rng, ctx: &Ctx<'a>, p: PlanRow) -> RowCtx<'a> {
    let is_max = p.is_max;
    let t = p.ty as usize;
    let county: Option<&'a County> = if p.county == NULL_COUNTY {
        None
    } else {
        Some(&ctx.counties[p.county as usize])
    };
    let tract: Option<&'a Tract> = county.map(|c| &c.tracts[c.tract_dist.sample(rng)]);
    let lender: &'a Lender = &ctx.pool.lenders[p.lender as usize];
    let ex = lender.exempt;
    let rural = county.map(|c| c.rural).unwrap_or(false);
    let vacation = county.map(|c| c.vacation).unwrap_or(false);
    let tract_inc = tract
        .map(|t| t.income_pct_x100 as f64 / 100.0)
        .unwrap_or(100.0);
    let minority = tract
        .map(|t| t.minority_pct_x100 as f64 / 100.0)
        .unwrap_or(15.0);
    let menominee = county.map(|c| c.fips == 78).unwrap_or(false);
    RowCtx {
        is_max,
        t,
        class: p.class,
        county,
        tract,
        lender,
        ex,
        rural,
        vacation,
        tract_inc,
        minority,
        menominee,
    }
}

/// The loan and property kind, which every later section depends on.
#[derive(Clone, Copy)]
struct Product {
    multifamily: bool,
    business: bool,
    /// loan_purpose: 1 purchase, 2 improvement, 31 refinance, 32 cash-out, 4 other
    purpose: i64,
    reverse: bool,
    subordinate: bool,
    open_end: bool,
    manufactured: bool,
    /// total_units as written
    units: &'static str,
    /// total units, 5 standing for any multifamily bracket
    n_units: i64,
    occupancy: i64,
}

/// Decides the loan and property kind: multifamily, purpose, lien, open-end, units, occupancy.
fn product(rng: &mut Rng, row: &RowCtx<'_>) -> Product {
    let RowCtx {
        is_max,
        t,
        class,
        rural,
        vacation,
        ..
    } = *row;
    let multifamily = match class {
        Class::Large => t == 0 && (is_max || rng.chance(0.22)),
        Class::In => t == 0 && rng.chance(0.0045),
        Class::Small => false,
    };
    let business = (multifamily && rng.chance(0.9))
        || rng.chance(match class {
            Class::Large => 0.15,
            _ => {
                if t == 0 {
                    0.02
                } else {
                    0.0
                }
            }
        });
    let purpose: i64 = if multifamily {
        rng.pick(&[(1, 0.40), (31, 0.35), (32, 0.15), (4, 0.10)])
    } else {
        match (class, t) {
            (Class::Small, _) => {
                rng.pick(&[(2, 0.34), (4, 0.22), (31, 0.20), (32, 0.12), (1, 0.12)])
            }
            (Class::Large, _) => rng.pick(&[(1, 0.45), (31, 0.30), (32, 0.20), (4, 0.05)]),
            (Class::In, 0) => {
                rng.pick(&[(1, 0.30), (2, 0.055), (31, 0.37), (32, 0.20), (4, 0.075)])
            }
            (Class::In, 1) => rng.pick(&[(1, 0.52), (31, 0.26), (32, 0.19), (2, 0.02), (4, 0.01)]),
            (Class::In, 2) => rng.pick(&[(1, 0.30), (31, 0.44), (32, 0.25), (2, 0.01)]),
            (Class::In, _) => rng.pick(&[(1, 0.96), (31, 0.04)]),
        }
    };
    let reverse = !multifamily
        && class == Class::In
        && ((t == 1 && rng.chance(0.025)) || (t == 0 && rng.chance(0.0004)));
    let subordinate = !reverse
        && !multifamily
        && rng.chance(match (class, t, purpose) {
            (Class::Small, _, _) => 0.60,
            (Class::In, 0, 2 | 4) => 0.45,
            (Class::In, 0, 1) => 0.02,
            (Class::In, 0, _) => 0.012,
            (Class::Large, _, _) => 0.005,
            _ => 0.003,
        });
    let open_end = !reverse
        && !multifamily
        && rng.chance(if subordinate {
            0.55
        } else if matches!(purpose, 2 | 4) {
            0.2
        } else {
            0.004
        });
    let manufactured = !multifamily
        && class != Class::Large
        && rng.chance(
            match t {
                3 => 0.035,
                1 => 0.025,
                _ => 0.011,
            } * if rural { 1.8 } else { 0.6 },
        );
    let units: &'static str = if multifamily {
        rng.pick(&[
            ("5-24", 0.80),
            ("25-49", 0.10),
            ("50-99", 0.06),
            ("100-149", 0.02),
            (">149", 0.02),
        ])
    } else if manufactured {
        "1"
    } else {
        rng.pick(&[("1", 0.962), ("2", 0.027), ("3", 0.006), ("4", 0.005)])
    };
    let n_units: i64 = match units {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "4" => 4,
        _ => 5,
    };
    let occupancy: i64 = if multifamily {
        3
    } else if t != 0 || reverse {
        if n_units > 1 {
            rng.pick(&[(1, 0.9), (3, 0.1)])
        } else {
            rng.pick(&[(1, 0.985), (2, 0.01), (3, 0.005)])
        }
    } else if n_units > 1 {
        rng.pick(&[(1, 0.5), (3, 0.5)])
    } else {
        rng.pick(&[
            (1, 0.915),
            (2, if vacation { 0.08 } else { 0.02 }),
            (3, 0.05),
        ])
    };
    Product {
        multifamily,
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        manufactured,
        units,
        n_units,
        occupancy,
    }
}

/// The loan amount as reported and before binning, and the local price level.
#[derive(Clone, Copy)]
struct LoanAmount {
    /// loan_amount as written: the midpoint of its $10,000 bin
    amount: f64,
    /// the amount before binning, which income, costs and value scale with
    raw: f64,
    /// the county's price level, scaled by the tract's income
    price: f64,
}

/// Decides the loan amount within the plan's amount class.
fn amount(rng: &mut Rng, row: &RowCtx<'_>, product: &Product) -> LoanAmount {
    let RowCtx {
        is_max,
        t,
        class,
        county,
        tract_inc,
        ..
    } = *row;
    let Product {
        multifamily,
        purpose,
        reverse,
        subordinate,
        open_end,
        manufactured,
        occupancy,
        ..
    } = *product;
    let price =
        county.map(|c| c.price).unwrap_or(1.0) * (tract_inc / 100.0).sqrt().clamp(0.55, 1.5);
    let (amount, raw) = match class {
        Class::Small => {
            let a = rng.pick(&[(5_000.0, 0.22), (15_000.0, 0.36), (25_000.0, 0.42)]);
            (a, a - 5_000.0 + 10_000.0 * rng.f64())
        }
        Class::Large => {
            let raw = if is_max {
                MAX_AMOUNT + 1_234.0
            } else if multifamily {
                (800_000.0 * pow_det(1.0 - rng.f64(), -1.0 / 1.15)).min(120_000_000.0)
            } else {
                (800_000.0 * pow_det(1.0 - rng.f64(), -1.0 / 2.6)).min(6_000_000.0)
            };
            (bin_midpoint(raw), raw)
        }
        Class::In => {
            let (median, sigma) = if multifamily {
                (420_000.0, 0.5)
            } else if reverse {
                (160_000.0, 0.45)
            } else if open_end || subordinate {
                (62_000.0, 0.65)
            } else {
                match (t, purpose) {
                    (0, 1) => (215_000.0, 0.55),
                    (0, 31) => (190_000.0, 0.52),
                    (0, 32) => (172_000.0, 0.5),
                    (0, 2) => (105_000.0, 0.65),
                    (0, _) => (115_000.0, 0.7),
                    (1, 1) => (180_000.0, 0.38),
                    (1, _) => (165_000.0, 0.4),
                    (2, 1) => (238_000.0, 0.42),
                    (2, _) => (212_000.0, 0.48),
                    _ => (160_000.0, 0.34),
                }
            };
            let mut m = median * price;
            if manufactured {
                m *= 0.5;
            }
            if occupancy == 3 && !multifamily {
                m *= 0.8;
            }
            let mut raw = 0.0;
            let mut ok = false;
            for _ in 0..200 {
                raw = m * exp_det(sigma * rng.normalish());
                if in_range(bin_midpoint(raw)) {
                    ok = true;
                    break;
                }
            }
            if !ok {
                raw = raw.clamp(30_000.0, 799_999.0);
            }
            (bin_midpoint(raw), raw)
        }
    };
    debug_assert_eq!(class == Class::In, in_range(amount));
    LoanAmount { amount, raw, price }
}

/// What became of the application.
#[derive(Clone, Copy)]
struct Action {
    /// action_taken: 1 originated, 3 denied, 6 purchased, ...
    action: i64,
    preapproval: i64,
    originated: bool,
}

/// Decides the action taken (originated, denied, withdrawn, purchased, ...) and preapproval.
fn action(rng: &mut Rng, row: &RowCtx<'_>, product: &Product) -> Action {
    let RowCtx {
        t,
        class,
        lender,
        tract_inc,
        ..
    } = *row;
    let Product {
        multifamily,
        purpose,
        reverse,
        subordinate,
        manufactured,
        ..
    } = *product;
    let risky = class == Class::Small || subordinate || matches!(purpose, 2 | 4);
    let purchased = !reverse
        && rng.chance(lender.purchase_share * if class == Class::Small { 0.3 } else { 1.0 });
    let action: i64 = if purchased {
        6
    } else {
        let mut deny = 0.10;
        if risky {
            deny *= 2.3;
        }
        if t == 1 {
            deny *= 1.3;
        }
        if tract_inc < 80.0 {
            deny *= 1.4;
        }
        if manufactured {
            deny *= 2.0;
        }
        let (wd, inc) = match lender.kind {
            Kind::CreditUnion => (0.08, 0.025),
            Kind::Nonbank => (0.15, 0.045),
            _ => (0.11, 0.035),
        };
        let pre = if purpose == 1 { 1.0 } else { 0.0 };
        rng.pick(&[
            (1, if multifamily { 0.75 } else { 0.60 }),
            (2, 0.025),
            (3, deny),
            (4, wd),
            (5, inc),
            (7, 0.003 * pre),
            (8, 0.005 * pre),
        ])
    };
    let preapproval: i64 = match action {
        7 | 8 => 1,
        1..=5 if purpose == 1 && !multifamily && rng.chance(0.09) => 1,
        _ => 2,
    };
    let originated = action == 1;
    Action {
        action,
        preapproval,
        originated,
    }
}

/// The applicant and the co-applicant.
struct People {
    /// demographics not applicable: not a natural person, or a purchased loan without them
    demo_na: bool,
    app: Person,
    co: Option<Person>,
    app_sex: i64,
    co_sex: i64,
    app_age: &'static str,
    co_age: &'static str,
    app_62: &'static str,
    co_62: &'static str,
}

/// Decides who applied: whether demographics apply, the co-applicant, ethnicity, race, sex and age.
fn people(rng: &mut Rng, row: &RowCtx<'_>, product: &Product, action: &Action) -> People {
    let RowCtx {
        lender,
        minority,
        menominee,
        ..
    } = *row;
    let Product {
        multifamily,
        business,
        purpose,
        reverse,
        ..
    } = *product;
    let Action { action, .. } = *action;
    let natural = !(multifamily || (business && rng.chance(0.85)));
    let purchased_na = action == 6 && rng.chance(0.38);
    let demo_na = !natural || purchased_na;
    let has_co = if demo_na {
        rng.chance(0.25)
    } else {
        rng.chance(match purpose {
            1 => 0.42,
            31 | 32 => 0.50,
            _ => 0.44,
        })
    };
    let not_provided_p = match lender.kind {
        Kind::Nonbank => 0.19,
        _ => 0.11,
    };
    let app = person(rng, demo_na, not_provided_p, minority, menominee, None);
    let co = if has_co {
        Some(person(
            rng,
            demo_na,
            not_provided_p,
            minority,
            menominee,
            Some(&app),
        ))
    } else {
        None
    };
    // sexes for couples: mostly one of each
    let (app_sex, co_sex) = match &co {
        None => (app.sex, 5),
        Some(c) => {
            if app.sex == 1 && c.sex == 1 && rng.chance(0.9) {
                (1, 2)
            } else if app.sex == 2 && c.sex == 2 && rng.chance(0.85) {
                (app.sex, 1)
            } else {
                (app.sex, c.sex)
            }
        }
    };
    let reverse_age = reverse;
    let app_age: &'static str = if demo_na || rng.chance(0.006) {
        "8888"
    } else if reverse_age {
        rng.pick(&[("55-64", 0.1), ("65-74", 0.5), (">74", 0.4)])
    } else if purpose == 1 {
        rng.pick(&[
            ("<25", 0.08),
            ("25-34", 0.34),
            ("35-44", 0.22),
            ("45-54", 0.14),
            ("55-64", 0.12),
            ("65-74", 0.07),
            (">74", 0.03),
        ])
    } else {
        rng.pick(&[
            ("<25", 0.01),
            ("25-34", 0.15),
            ("35-44", 0.23),
            ("45-54", 0.21),
            ("55-64", 0.21),
            ("65-74", 0.14),
            (">74", 0.05),
        ])
    };
    const AGES: [&str; 7] = ["<25", "25-34", "35-44", "45-54", "55-64", "65-74", ">74"];
    let co_age: &'static str = match &co {
        None => "9999",
        Some(_) if demo_na || app_age == "8888" => "8888",
        Some(_) => {
            let i = AGES.iter().position(|a| *a == app_age).unwrap_or(2) as i64;
            let j = match rng.pick(&[(0i64, 0.6), (-1, 0.18), (1, 0.17), (9, 0.05)]) {
                9 => rng.range(0, 6),
                d => (i + d).clamp(0, 6),
            };
            AGES[j as usize]
        }
    };
    let above62 = |rng: &mut Rng, age: &str| -> &'static str {
        match age {
            "65-74" | ">74" => "Yes",
            "55-64" if rng.chance(0.35) => "Yes",
            "55-64" => "No",
            "8888" | "9999" => "NA",
            _ => "No",
        }
    };
    let app_62 = above62(rng, app_age);
    let co_62 = above62(rng, co_age);
    People {
        demo_na,
        app,
        co,
        app_sex,
        co_sex,
        app_age,
        co_age,
        app_62,
        co_62,
    }
}

/// Income, debt-to-income ratio and credit score types.
struct IncomeAndCredit {
    /// thousands of dollars; None is NULL
    income: Option<f64>,
    dti: &'static str,
    app_score: i64,
    co_score: i64,
}

/// Decides the income (or NULL), the debt-to-income bracket and the credit score types.
fn income_and_credit(
    rng: &mut Rng,
    row: &RowCtx<'_>,
    product: &Product,
    raw: f64,
    action: &Action,
    people: &People,
) -> IncomeAndCredit {
    let RowCtx {
        t,
        class,
        lender,
        ex,
        ..
    } = *row;
    let Product {
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        ..
    } = *product;
    let Action { action, .. } = *action;
    let demo_na = people.demo_na;
    let co = &people.co;
    let streamline = !demo_na
        && matches!((t, purpose), (1, 31) | (2, 31))
        && rng.chance(if t == 1 { 0.55 } else { 0.65 });
    let income_null = demo_na
        || reverse
        || streamline
        || (business && rng.chance(0.8))
        || (matches!(action, 4 | 5) && rng.chance(0.08))
        || rng.chance(0.006);
    let income: Option<f64> = if income_null {
        None
    } else if rng.chance(0.0002) {
        Some(-(rng.range(1, 60) as f64))
    } else {
        let base = if subordinate || open_end || class == Class::Small {
            95.0 * exp_det(0.5 * rng.normalish())
        } else {
            raw / 1000.0 * if purpose == 1 { 0.44 } else { 0.5 } * exp_det(0.42 * rng.normalish())
        };
        let extra = if rng.chance(0.003) {
            4.0 + 10.0 * rng.f64()
        } else {
            1.0
        };
        Some((base * extra).round().clamp(1.0, 25_000.0))
    };
    let dti: &'static str = if ex {
        "Exempt"
    } else if income.is_none()
        || (matches!(action, 4 | 5) && rng.chance(0.4))
        || action == 6 && rng.chance(0.3)
    {
        "NA"
    } else {
        let hi = if matches!(action, 3 | 7) { 3.0 } else { 1.0 };
        rng.pick(&[
            ("<20%", 0.09),
            ("20%-<30%", 0.21),
            ("30%-<36%", 0.19),
            ("36", 0.032),
            ("37", 0.031),
            ("38", 0.030),
            ("39", 0.030),
            ("40", 0.030),
            ("41", 0.030),
            ("42", 0.029),
            ("43", 0.028),
            ("44", 0.027),
            ("45", 0.025),
            ("46", 0.022),
            ("47", 0.020),
            ("48", 0.018),
            ("49", 0.018),
            ("50%-60%", 0.085 * hi),
            (">60%", 0.02 * hi * hi),
        ])
    };
    let app_score: i64 = if ex {
        1111
    } else if demo_na || (matches!(action, 4 | 5) && rng.chance(0.3)) {
        9
    } else if rng.chance(0.75) {
        lender.score_model
    } else {
        rng.pick(&[
            (1, 0.2),
            (2, 0.35),
            (3, 0.25),
            (7, 0.1),
            (8, 0.07),
            (6, 0.03),
        ])
    };
    let co_score: i64 = match co {
        None => 10,
        Some(_) if ex => 1111,
        Some(_) if app_score == 9 => 9,
        Some(_) => {
            if rng.chance(0.85) {
                app_score
            } else {
                rng.pick(&[(1, 0.2), (2, 0.35), (3, 0.25), (7, 0.1), (9, 0.1)])
            }
        }
    };
    IncomeAndCredit {
        income,
        dti,
        app_score,
        co_score,
    }
}

/// Loan term and rate structure.
#[derive(Clone, Copy)]
struct Terms {
    /// loan term in months; None for reverse mortgages
    loan_term_n: Option<i64>,
    /// above the 2021 conforming loan limit for one unit
    jumbo: bool,
    arm: bool,
    /// intro_rate_period as written
    intro: &'static str,
}

/// Decides the loan term, whether the rate is adjustable, and the intro rate period.
fn terms(rng: &mut Rng, row: &RowCtx<'_>, product: &Product, raw: f64) -> Terms {
    let RowCtx { t, ex, .. } = *row;
    let Product {
        multifamily,
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        manufactured,
        ..
    } = *product;
    let loan_term_n: Option<i64> = if reverse {
        None
    } else if open_end {
        Some(rng.pick(&[(120, 0.2), (180, 0.15), (240, 0.2), (300, 0.2), (360, 0.25)]))
    } else if subordinate {
        Some(rng.pick(&[(60, 0.1), (120, 0.3), (180, 0.35), (240, 0.15), (360, 0.1)]))
    } else if multifamily || business {
        Some(rng.pick(&[(360, 0.3), (120, 0.25), (300, 0.2), (240, 0.15), (60, 0.1)]))
    } else if manufactured {
        Some(rng.pick(&[(240, 0.3), (360, 0.4), (180, 0.2), (300, 0.1)]))
    } else if t != 0 {
        if rng.chance(0.02) {
            Some(rng.range(200, 359))
        } else {
            Some(rng.pick(&[(360, 0.93), (180, 0.04), (300, 0.02), (240, 0.01)]))
        }
    } else if purpose == 1 {
        if rng.chance(0.03) {
            Some(rng.range(100, 359))
        } else {
            Some(rng.pick(&[(360, 0.9), (180, 0.05), (240, 0.025), (300, 0.025)]))
        }
    } else if rng.chance(0.04) {
        Some(rng.range(60, 359))
    } else {
        Some(rng.pick(&[
            (360, 0.62),
            (180, 0.21),
            (240, 0.09),
            (120, 0.04),
            (300, 0.04),
        ]))
    };
    let jumbo = raw > 548_250.0;
    let arm = !reverse
        && !subordinate
        && !open_end
        && rng.chance(if multifamily {
            0.4
        } else if t == 0 && jumbo {
            0.3
        } else if t == 0 {
            0.04
        } else {
            0.01
        });
    let intro: &'static str = if ex {
        "Exempt"
    } else if arm {
        rng.pick(&[
            ("60", 0.45),
            ("84", 0.25),
            ("120", 0.15),
            ("36", 0.08),
            ("12", 0.04),
            ("24", 0.03),
        ])
    } else if open_end && rng.chance(0.25) {
        rng.pick(&[("3", 0.2), ("6", 0.5), ("12", 0.3)])
    } else {
        "NA"
    };
    Terms {
        loan_term_n,
        jumbo,
        arm,
        intro,
    }
}

/// The rate columns as written.
struct Rates {
    interest_rate: V<'static>,
    rate_spread: V<'static>,
    hoepa_status: i64,
}

/// Decides whether a rate is reported, the interest rate, the rate spread and the HOEPA status.
fn rates(
    rng: &mut Rng,
    row: &RowCtx<'_>,
    product: &Product,
    action: &Action,
    terms: &Terms,
) -> Rates {
    let RowCtx {
        t,
        class,
        lender,
        ex,
        ..
    } = *row;
    let Product {
        multifamily,
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        manufactured,
        occupancy,
        ..
    } = *product;
    let Action {
        action, originated, ..
    } = *action;
    let Terms {
        loan_term_n, arm, ..
    } = *terms;
    let has_rate = !reverse
        && match action {
            1 => rng.chance(0.995),
            2 => rng.chance(0.9),
            6 => rng.chance(0.98),
            _ => rng.chance(0.25),
        };
    let rate: Option<f64> = if !has_rate {
        None
    } else {
        let term = loan_term_n.unwrap_or(360);
        let mut base = if open_end {
            3.25 + rng.pick(&[
                (0.0, 0.3),
                (0.25, 0.15),
                (0.5, 0.15),
                (1.0, 0.2),
                (1.5, 0.1),
                (2.0, 0.1),
            ])
        } else if subordinate {
            5.2 + 1.2 * rng.normalish()
        } else if multifamily || business {
            3.8 + 0.7 * rng.normalish()
        } else if manufactured {
            5.4 + 1.4 * rng.normalish()
        } else {
            let b = match t {
                1 => 3.0,
                2 => 2.72,
                3 => 2.92,
                _ => 3.05,
            };
            let b = if term <= 180 {
                b - 0.62
            } else if term <= 240 {
                b - 0.25
            } else {
                b
            };
            let b = if arm { b - 0.45 } else { b };
            b + if occupancy == 3 {
                0.45
            } else if occupancy == 2 {
                0.2
            } else {
                0.0
            } + if purpose == 32 { 0.2 } else { 0.0 }
        };
        base += lender.rate_offset + 0.17 * rng.normalish();
        if class == Class::Small && !open_end {
            base += 1.0;
        }
        base = base.clamp(1.0, 12.5);
        Some(base)
    };
    let rate_str: V<'static> = if ex {
        V::S("Exempt")
    } else {
        match rate {
            None => V::S("NA"),
            Some(x) => {
                let milli = if rng.chance(if lender.eighths { 0.9 } else { 0.5 }) {
                    (x * 8.0).round() as i64 * 125
                } else if rng.chance(0.9) {
                    (x * 100.0).round() as i64 * 10
                } else {
                    (x * 1000.0).round() as i64
                };
                V::O(fmt_trim(milli, 3))
            }
        }
    };
    let spread: V<'static> = if ex {
        V::S("Exempt")
    } else {
        match rate {
            Some(x) if matches!(action, 1 | 2) && !business => {
                let term = loan_term_n.unwrap_or(360);
                let apor = if term <= 180 { 2.33 } else { 2.96 } + 0.12 * rng.normalish();
                let sp = x - apor + 0.08 * rng.normalish();
                let milli = (sp * 1000.0).round() as i64;
                let milli = if rng.chance(0.25) {
                    (milli / 10) * 10
                } else {
                    milli
                };
                V::O(fmt_trim(milli, 3))
            }
            _ => V::S("NA"),
        }
    };
    let hoepa: i64 = if originated {
        if rng.chance(0.0006) { 1 } else { 2 }
    } else {
        3
    };
    Rates {
        interest_rate: rate_str,
        rate_spread: spread,
        hoepa_status: hoepa,
    }
}

/// The closed-end consumer loan cost columns (TRID) as written.
struct Costs {
    total_loan_costs: V<'static>,
    total_points_and_fees: V<'static>,
    origination_charges: V<'static>,
    discount_points: V<'static>,
    lender_credits: V<'static>,
}

/// Decides the loan costs, points and fees, origination charges, discount points, lender credits.
fn costs(rng: &mut Rng, row: &RowCtx<'_>, product: &Product, action: &Action, raw: f64) -> Costs {
    let RowCtx { t, lender, ex, .. } = *row;
    let Product {
        multifamily,
        business,
        reverse,
        open_end,
        ..
    } = *product;
    let originated = action.originated;
    let trid = originated && !open_end && !reverse && !business && !multifamily;
    let money = |rng: &mut Rng, x: f64| -> V<'static> {
        let cents = if rng.chance(0.35) {
            (x.round() as i64) * 100
        } else {
            (x * 100.0).round() as i64
        };
        V::O(fmt_trim(cents.max(0), 2))
    };
    let (tlc, tpf, orig_ch, disc, credits) = if ex {
        (
            V::S("Exempt"),
            V::S("Exempt"),
            V::S("Exempt"),
            V::S("Exempt"),
            V::S("Exempt"),
        )
    } else if trid {
        // origination charges: the lender's standard fee, plus any discount points paid
        let points = if rng.chance(lender.points_prob * 0.4) {
            (raw * (0.002 + 0.012 * rng.f64()) * 100.0).round() / 100.0
        } else {
            0.0
        };
        let fee = lender.fees[rng.pick(&[(0usize, 0.6), (1, 0.25), (2, 0.15)])];
        let oc = if rng.chance(0.1) {
            fee + (50.0 * rng.below(30) as f64)
        } else {
            fee
        } + points;
        // total loan costs: origination charges + services (appraisal, title, recording, ...)
        let services =
            (1_700.0 + raw * 0.0035 + 650.0 * rng.normalish() + if t != 0 { 700.0 } else { 0.0 })
                .max(150.0);
        let costs = oc + services;
        let d = if points > 0.0 {
            V::O(fmt_trim((points * 100.0).round() as i64, 2))
        } else {
            V::Null
        };
        let lc = if rng.chance(0.22) {
            if rng.chance(0.55) {
                V::O(fmt_trim(
                    rng.pick(&[(250i64, 0.3), (500, 0.4), (750, 0.1), (1000, 0.2)]) * 100,
                    2,
                ))
            } else {
                let x = 40.0 + 1_500.0 * rng.f64() * rng.f64();
                money(rng, x)
            }
        } else {
            V::Null
        };
        let tpf = if rng.chance(0.015) {
            money(rng, costs * 0.4)
        } else {
            V::S("NA")
        };
        (
            money(rng, costs),
            tpf,
            V::O(fmt_trim((oc * 100.0).round() as i64, 2)),
            d,
            lc,
        )
    } else {
        (V::S("NA"), V::S("NA"), V::S("NA"), V::S("NA"), V::S("NA"))
    };
    Costs {
        total_loan_costs: tlc,
        total_points_and_fees: tpf,
        origination_charges: orig_ch,
        discount_points: disc,
        lender_credits: credits,
    }
}

/// The property value and combined loan-to-value ratio columns as written.
struct PropertyValue {
    property_value: V<'static>,
    loan_to_value_ratio: V<'static>,
}

/// Decides the property value and the combined loan-to-value ratio (or NA).
fn property_value(
    rng: &mut Rng,
    row: &RowCtx<'_>,
    product: &Product,
    action: &Action,
    amount: &LoanAmount,
) -> PropertyValue {
    let RowCtx { t, ex, .. } = *row;
    let Product {
        multifamily,
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        ..
    } = *product;
    let Action { action, .. } = *action;
    let LoanAmount { raw, price, .. } = *amount;
    let value_na = reverse && rng.chance(0.2)
        || match action {
            4 | 5 => rng.chance(0.35),
            3 | 7 => rng.chance(0.2),
            6 => rng.chance(0.05),
            _ => rng.chance(0.01),
        };
    let (prop_value, ltv_v): (V<'static>, V<'static>) = if ex {
        (V::S("Exempt"), V::S("Exempt"))
    } else if value_na {
        (V::S("NA"), V::S("NA"))
    } else {
        // combined loan-to-value in thousandths of a percent
        let round_ltv = |rng: &mut Rng, lo: f64, hi: f64| -> i64 {
            ((lo + (hi - lo) * rng.f64()) * 1000.0).round() as i64
        };
        let (ltv_milli, value) = if subordinate || open_end {
            let value = 230_000.0 * price * exp_det(0.45 * rng.normalish());
            let first = value * (0.15 + 0.5 * rng.f64());
            let cltv = ((first + raw) / value * 100.0).clamp(3.0, 110.0);
            ((cltv * 1000.0).round() as i64, value)
        } else {
            let l = if reverse {
                round_ltv(rng, 30.0, 70.0)
            } else if multifamily || business {
                round_ltv(rng, 45.0, 80.0)
            } else if purpose == 1 {
                match t {
                    0 => rng.pick(&[
                        (80_000, 0.30),
                        (95_000, 0.11),
                        (97_000, 0.07),
                        (90_000, 0.09),
                        (85_000, 0.04),
                        (75_000, 0.04),
                        (70_000, 0.02),
                        (60_000, 0.01),
                        (-1, 0.32),
                    ]),
                    1 => rng.pick(&[(96_500, 0.55), (-2, 0.45)]),
                    2 => rng.pick(&[(100_000, 0.3), (-3, 0.7)]),
                    _ => rng.pick(&[(100_000, 0.25), (-4, 0.75)]),
                }
            } else if t == 2 {
                round_ltv(rng, 40.0, 100.5)
            } else if purpose == 32 {
                round_ltv(rng, 25.0, 80.0)
            } else {
                round_ltv(rng, 20.0, 90.0)
            };
            let l = match l {
                -1 => round_ltv(rng, 35.0, 97.0),
                -2 => round_ltv(rng, 90.0, 98.5),
                -3 => round_ltv(rng, 95.0, 103.5),
                -4 => round_ltv(rng, 98.0, 102.5),
                x => x,
            };
            let value = raw / (l as f64 / 100_000.0);
            (l, value)
        };
        let ltv_str = match rng.pick(&[(0, 0.35), (1, 0.3), (2, 0.35)]) {
            0 => fmt_trim(ltv_milli, 3),
            1 => fmt_trim((ltv_milli + 5) / 10 * 10, 3),
            _ => fmt_trim((ltv_milli + 50) / 100 * 100, 3),
        };
        let ltv_v = if action == 6 && rng.chance(0.1) || matches!(action, 4 | 5) && rng.chance(0.3)
        {
            V::S("NA")
        } else {
            V::O(ltv_str)
        };
        (V::O(sint(bin_midpoint(value) as i64)), ltv_v)
    };
    PropertyValue {
        property_value: prop_value,
        loan_to_value_ratio: ltv_v,
    }
}

/// Decides who bought the loan: purchaser_type, 0 when it was not sold.
fn purchaser_type(rng: &mut Rng, row: &RowCtx<'_>, product: &Product, action: &Action) -> i64 {
    let RowCtx { t, lender, .. } = *row;
    let Product {
        multifamily,
        business,
        reverse,
        subordinate,
        open_end,
        ..
    } = *product;
    let Action {
        action, originated, ..
    } = *action;
    if !(originated || action == 6) {
        0
    } else if subordinate || open_end || reverse && t == 0 {
        rng.pick(&[(0, 0.92), (6, 0.03), (71, 0.02), (9, 0.03)])
    } else if multifamily || business {
        rng.pick(&[(0, 0.7), (6, 0.1), (72, 0.05), (5, 0.05), (9, 0.1)])
    } else if t != 0 {
        rng.pick(&[
            (2, 0.52),
            (0, 0.22),
            (6, 0.1),
            (71, 0.1),
            (9, 0.04),
            (8, 0.02),
        ])
    } else {
        let (fan, fred) = if lender.freddie {
            (0.16, 0.30)
        } else {
            (0.30, 0.16)
        };
        let hold = match lender.kind {
            Kind::CreditUnion | Kind::CommunityBank => 0.45,
            Kind::Nonbank => 0.12,
            _ => 0.3,
        };
        rng.pick(&[
            (0, hold),
            (1, fan),
            (3, fred),
            (5, 0.015),
            (6, 0.05),
            (71, 0.05),
            (72, 0.004),
            (8, 0.02),
            (9, 0.035),
            (4, 0.001),
        ])
    }
}

/// The submission channel, automated underwriting system and denial reason columns.
struct ChannelAusDenial {
    submission: i64,
    payable: i64,
    /// aus_1 to aus_5
    aus: [V<'static>; 5],
    /// denial_reason_1 to denial_reason_4
    denial_reasons: [V<'static>; 4],
}

/// Decides how the application came in, which underwriting systems ran, and why it was denied.
fn channel_aus_denial(
    rng: &mut Rng,
    row: &RowCtx<'_>,
    product: &Product,
    action: &Action,
) -> ChannelAusDenial {
    let RowCtx { t, lender, ex, .. } = *row;
    let Product {
        multifamily,
        business,
        reverse,
        subordinate,
        open_end,
        ..
    } = *product;
    let Action { action, .. } = *action;
    let broker = rng.chance(lender.broker_share);
    let (submission, payable) = if ex {
        (1111, 1111)
    } else if action == 6 {
        (3, 3)
    } else {
        (
            if broker { 2 } else { 1 },
            if (broker && rng.chance(0.6)) || rng.chance(0.02) {
                2
            } else {
                1
            },
        )
    };
    let aus1: i64 = if ex {
        1111
    } else if (action == 6 && rng.chance(0.4)) || (matches!(action, 4 | 5) && rng.chance(0.45)) {
        6
    } else if subordinate || open_end || multifamily || business || reverse {
        if lender.internal_aus && rng.chance(0.5) {
            7
        } else {
            rng.pick(&[(6, 0.9), (1, 0.05), (5, 0.05)])
        }
    } else {
        match t {
            1 => rng.pick(&[(1, 0.55), (2, 0.2), (3, 0.2), (6, 0.05)]),
            2 => rng.pick(&[(1, 0.7), (2, 0.2), (6, 0.1)]),
            3 => rng.pick(&[(4, 0.9), (1, 0.05), (6, 0.05)]),
            _ => {
                if lender.internal_aus && rng.chance(0.4) {
                    7
                } else if lender.freddie {
                    rng.pick(&[(2, 0.5), (1, 0.3), (6, 0.17), (5, 0.03)])
                } else {
                    rng.pick(&[(1, 0.62), (2, 0.16), (6, 0.19), (5, 0.03)])
                }
            }
        }
    };
    let aus_more = |rng: &mut Rng, p: f64, prev: i64| -> V<'static> {
        if matches!(prev, 1..=5 | 7) && rng.chance(p) {
            V::I(rng.pick(&[(1, 0.35), (2, 0.35), (3, 0.1), (4, 0.05), (5, 0.15)]))
        } else {
            V::Null
        }
    };
    let aus2 = aus_more(rng, 0.06, aus1);
    let aus3 = if matches!(aus2, V::I(_)) {
        aus_more(rng, 0.05, aus1)
    } else {
        V::Null
    };
    let aus4 = if matches!(aus3, V::I(_)) {
        aus_more(rng, 0.1, aus1)
    } else {
        V::Null
    };
    let aus5 = if matches!(aus4, V::I(_)) {
        aus_more(rng, 0.1, aus1)
    } else {
        V::Null
    };
    let denied = matches!(action, 3 | 7);
    let reasons = [
        (1i64, 0.25),
        (2, 0.02),
        (3, 0.30),
        (4, 0.15),
        (5, 0.03),
        (6, 0.02),
        (7, 0.12),
        (8, 0.01),
        (9, 0.10),
    ];
    let (d1, d2, d3, d4) = if ex {
        (V::I(1111), V::Null, V::Null, V::Null)
    } else if denied {
        let a = rng.pick(&reasons);
        let more = |rng: &mut Rng, p: f64, not: &[i64]| -> V<'static> {
            if rng.chance(p) {
                loop {
                    let x = rng.pick(&reasons);
                    if !not.contains(&x) {
                        return V::I(x);
                    }
                }
            } else {
                V::Null
            }
        };
        let b = more(rng, 0.3, &[a]);
        let bv = if let V::I(x) = b { x } else { -1 };
        let c = if bv > 0 {
            more(rng, 0.2, &[a, bv])
        } else {
            V::Null
        };
        let cv = if let V::I(x) = c { x } else { -1 };
        let d = if cv > 0 {
            more(rng, 0.15, &[a, bv, cv])
        } else {
            V::Null
        };
        (V::I(a), b, c, d)
    } else {
        (V::I(10), V::Null, V::Null, V::Null)
    };
    ChannelAusDenial {
        submission,
        payable,
        aus: [V::I(aus1), aus2, aus3, aus4, aus5],
        denial_reasons: [d1, d2, d3, d4],
    }
}

/// The derived category columns as written.
#[derive(Clone, Copy)]
struct DerivedCategories {
    loan_product_type: &'static str,
    dwelling_category: &'static str,
    conforming_loan_limit: &'static str,
}

/// Derives the loan product type, dwelling category and conforming loan limit (no random draws).
fn derived_categories(row: &RowCtx<'_>, product: &Product, raw: f64) -> DerivedCategories {
    let RowCtx { t, county, .. } = *row;
    let Product {
        multifamily,
        reverse,
        subordinate,
        manufactured,
        n_units,
        ..
    } = *product;
    let dwelling: &'static str = match (multifamily, manufactured) {
        (false, false) => "Single Family (1-4 Units):Site-Built",
        (false, true) => "Single Family (1-4 Units):Manufactured",
        (true, false) => "Multifamily:Site-Built",
        (true, true) => "Multifamily:Manufactured",
    };
    let cll: &'static str = if county.is_none() {
        "U"
    } else if multifamily || reverse {
        "NA"
    } else {
        let limit = match n_units {
            1 => 548_250.0,
            2 => 702_000.0,
            3 => 848_500.0,
            _ => 1_054_500.0,
        };
        if raw <= limit { "C" } else { "NC" }
    };
    DerivedCategories {
        loan_product_type: format_product(t, subordinate),
        dwelling_category: dwelling,
        conforming_loan_limit: cll,
    }
}

/// Everything decided for one row, section by section, for `write_row`.
struct RowDecisions<'a> {
    row: RowCtx<'a>,
    product: Product,
    amount: LoanAmount,
    action: Action,
    people: People,
    income_and_credit: IncomeAndCredit,
    terms: Terms,
    rates: Rates,
    costs: Costs,
    property_value: PropertyValue,
    purchaser_type: i64,
    channel_aus_denial: ChannelAusDenial,
    derived: DerivedCategories,
}

/// Fills `r` from the decisions, drawing the last few columns that nothing else depends on.
fn write_row<'a>(rng: &mut Rng, decided: &RowDecisions<'a>, r: &mut [V<'a>; 99]) {
    let RowCtx {
        t,
        county,
        tract,
        lender,
        ex,
        ..
    } = decided.row;
    let Product {
        multifamily,
        business,
        purpose,
        reverse,
        subordinate,
        open_end,
        manufactured,
        units,
        occupancy,
        ..
    } = decided.product;
    let Action {
        action,
        preapproval,
        ..
    } = decided.action;
    let People {
        ref app,
        ref co,
        app_sex,
        co_sex,
        app_age,
        co_age,
        app_62,
        co_62,
        ..
    } = decided.people;
    let IncomeAndCredit {
        income,
        dti,
        app_score,
        co_score,
    } = decided.income_and_credit;
    let Terms {
        loan_term_n,
        jumbo,
        arm,
        intro,
    } = decided.terms;
    let channel = &decided.channel_aus_denial;
    r[c!("activity_year")] = V::I(2021);
    r[c!("lei")] = V::S(lender.lei.as_str());
    r[c!("derived_msa_md")] = V::I(county.map(|c| c.msa as i64).unwrap_or(99999));
    r[c!("state_code")] = V::S("WI");
    r[c!("county_code")] = county.map(|c| V::I(c.code)).unwrap_or(V::Null);
    r[c!("census_tract")] = tract.map(|t| V::S(t.code.as_str())).unwrap_or(V::Null);
    r[c!("conforming_loan_limit")] = V::S(decided.derived.conforming_loan_limit);
    r[c!("derived_loan_product_type")] = V::S(decided.derived.loan_product_type);
    r[c!("derived_dwelling_category")] = V::S(decided.derived.dwelling_category);
    r[c!("derived_ethnicity")] = V::S(derived_ethnicity(app, co.as_ref()));
    r[c!("derived_race")] = V::S(derived_race(app, co.as_ref()));
    r[c!("derived_sex")] = V::S(derived_sex(app_sex, co_sex));
    r[c!("action_taken")] = V::I(action);
    r[c!("purchaser_type")] = V::I(decided.purchaser_type);
    r[c!("preapproval")] = V::I(preapproval);
    r[c!("loan_type_id")] = V::I(t as i64 + 1);
    r[c!("loan_purpose")] = V::I(purpose);
    r[c!("lien_status")] = V::I(if subordinate { 2 } else { 1 });
    let flag = |b: bool| {
        V::I(if ex {
            1111
        } else if b {
            1
        } else {
            2
        })
    };
    r[c!("reverse_mortgage")] = flag(reverse);
    r[c!("open_end_line_of_credit")] = flag(open_end);
    r[c!("business_or_commercial_purpose")] = flag(business);
    r[c!("loan_amount")] = V::F(decided.amount.amount);
    r[c!("loan_to_value_ratio")] = decided.property_value.loan_to_value_ratio;
    r[c!("interest_rate")] = decided.rates.interest_rate;
    r[c!("rate_spread")] = decided.rates.rate_spread;
    r[c!("hoepa_status")] = V::I(decided.rates.hoepa_status);
    r[c!("total_loan_costs")] = decided.costs.total_loan_costs;
    r[c!("total_points_and_fees")] = decided.costs.total_points_and_fees;
    r[c!("origination_charges")] = decided.costs.origination_charges;
    r[c!("discount_points")] = decided.costs.discount_points;
    r[c!("lender_credits")] = decided.costs.lender_credits;
    r[c!("loan_term")] = if ex {
        V::S("Exempt")
    } else {
        match loan_term_n {
            Some(n) => V::O(sint(n)),
            None => V::S("NA"),
        }
    };
    r[c!("prepayment_penalty_term")] = if ex {
        V::S("Exempt")
    } else if (multifamily || business) && rng.chance(0.3) {
        V::S(rng.pick(&[("36", 0.4), ("60", 0.3), ("24", 0.2), ("12", 0.1)]))
    } else {
        V::S("NA")
    };
    r[c!("intro_rate_period")] = V::S(intro);
    let io = (jumbo && arm && rng.chance(0.1)) || (open_end && rng.chance(0.3));
    let balloon = ((multifamily || business) && rng.chance(0.25))
        || (subordinate && !open_end && rng.chance(0.03));
    r[c!("negative_amortization")] = V::I(if ex { 1111 } else { 2 });
    r[c!("interest_only_payment")] = flag(io);
    r[c!("balloon_payment")] = flag(balloon);
    r[c!("other_nonamortizing_features")] = flag(rng.chance(0.001));
    r[c!("property_value")] = decided.property_value.property_value;
    r[c!("construction_method")] = V::I(if manufactured { 2 } else { 1 });
    r[c!("occupancy_type")] = V::I(occupancy);
    r[c!("manufactured_home_secured_property_type")] = V::I(if ex {
        1111
    } else if manufactured {
        rng.pick(&[(1, 0.6), (2, 0.3), (3, 0.1)])
    } else {
        3
    });
    r[c!("manufactured_home_land_property_interest")] = V::I(if ex {
        1111
    } else if manufactured {
        rng.pick(&[(1, 0.6), (2, 0.05), (3, 0.2), (4, 0.1), (5, 0.05)])
    } else {
        5
    });
    r[c!("total_units")] = V::S(units);
    r[c!("multifamily_affordable_units")] = if ex {
        V::S("Exempt")
    } else if multifamily {
        if rng.chance(0.7) {
            V::S("0")
        } else {
            V::O(sint(rng.range(1, 40)))
        }
    } else {
        V::S("NA")
    };
    r[c!("income")] = income.map(V::F).unwrap_or(V::Null);
    r[c!("debt_to_income_ratio")] = V::S(dti);
    r[c!("applicant_credit_score_type")] = V::I(app_score);
    r[c!("co_applicant_credit_score_type")] = V::I(co_score);

    let eth_cols = [
        c!("applicant_ethnicity_1"),
        c!("applicant_ethnicity_2"),
        c!("applicant_ethnicity_3"),
        c!("applicant_ethnicity_4"),
        c!("applicant_ethnicity_5"),
    ];
    let co_eth_cols = [
        c!("co_applicant_ethnicity_1"),
        c!("co_applicant_ethnicity_2"),
        c!("co_applicant_ethnicity_3"),
        c!("co_applicant_ethnicity_4"),
        c!("co_applicant_ethnicity_5"),
    ];
    let race_cols = [
        c!("applicant_race_1"),
        c!("applicant_race_2"),
        c!("applicant_race_3"),
        c!("applicant_race_4"),
        c!("applicant_race_5"),
    ];
    let co_race_cols = [
        c!("co_applicant_race_1"),
        c!("co_applicant_race_2"),
        c!("co_applicant_race_3"),
        c!("co_applicant_race_4"),
        c!("co_applicant_race_5"),
    ];
    for i in 0..5 {
        r[eth_cols[i]] = app.eth[i];
        r[race_cols[i]] = app.race[i];
        match co {
            Some(c) => {
                r[co_eth_cols[i]] = c.eth[i];
                r[co_race_cols[i]] = c.race[i];
            }
            None => {
                r[co_eth_cols[i]] = if i == 0 { V::I(5) } else { V::Null };
                r[co_race_cols[i]] = if i == 0 { V::I(8) } else { V::Null };
            }
        }
    }
    r[c!("applicant_ethnicity_observed")] = V::I(app.observed);
    r[c!("co_applicant_ethnicity_observed")] = V::I(co.as_ref().map(|c| c.observed).unwrap_or(4));
    r[c!("applicant_race_observed")] = V::I(app.observed);
    r[c!("co_applicant_race_observed")] = V::I(co.as_ref().map(|c| c.observed).unwrap_or(4));
    r[c!("applicant_sex")] = V::I(app_sex);
    r[c!("co_applicant_sex")] = V::I(co_sex);
    r[c!("applicant_sex_observed")] = V::I(app.observed);
    r[c!("co_applicant_sex_observed")] = V::I(co.as_ref().map(|c| c.observed).unwrap_or(4));
    r[c!("applicant_age")] = V::S(app_age);
    r[c!("co_applicant_age")] = V::S(co_age);
    r[c!("applicant_age_above_62")] = V::S(app_62);
    r[c!("co_applicant_age_above_62")] = V::S(co_62);
    r[c!("submission_of_application")] = V::I(channel.submission);
    r[c!("initially_payable_to_institution")] = V::I(channel.payable);
    r[c!("aus_1")] = channel.aus[0];
    r[c!("aus_2")] = channel.aus[1];
    r[c!("aus_3")] = channel.aus[2];
    r[c!("aus_4")] = channel.aus[3];
    r[c!("aus_5")] = channel.aus[4];
    r[c!("denial_reason_1")] = channel.denial_reasons[0];
    r[c!("denial_reason_2")] = channel.denial_reasons[1];
    r[c!("denial_reason_3")] = channel.denial_reasons[2];
    r[c!("denial_reason_4")] = channel.denial_reasons[3];
    match (county, tract) {
        (Some(c), Some(tr)) => {
            r[c!("tract_population")] = V::I(tr.population);
            r[c!("tract_minority_population_percent")] = V::F(tr.minority_pct_x100 as f64 / 100.0);
            r[c!("ffiec_msa_md_median_family_income")] = V::I(c.msa_income as i64);
            r[c!("tract_to_msa_income_percentage")] = V::D2(tr.income_pct_x100);
            r[c!("tract_owner_occupied_units")] = V::I(tr.owner_occupied);
            r[c!("tract_one_to_four_family_homes")] = V::I(tr.one_to_four);
            r[c!("tract_median_age_of_housing_units")] = V::I(tr.median_age);
        }
        _ => {
            r[c!("tract_population")] = V::I(0);
            r[c!("tract_minority_population_percent")] = V::F(0.0);
            r[c!("ffiec_msa_md_median_family_income")] = V::I(0);
            r[c!("tract_to_msa_income_percentage")] = V::D2(0);
            r[c!("tract_owner_occupied_units")] = V::I(0);
            r[c!("tract_one_to_four_family_homes")] = V::I(0);
            r[c!("tract_median_age_of_housing_units")] = V::I(0);
        }
    }
}

fn format_product(t: usize, subordinate: bool) -> &'static str {
    match (t, subordinate) {
        (0, false) => "Conventional:First Lien",
        (0, true) => "Conventional:Subordinate Lien",
        (1, false) => "FHA:First Lien",
        (1, true) => "FHA:Subordinate Lien",
        (2, false) => "VA:First Lien",
        (2, true) => "VA:Subordinate Lien",
        (_, false) => "FSA/RHS:First Lien",
        (_, true) => "FSA/RHS:Subordinate Lien",
    }
}

/// Race categories for the derived columns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RaceCat {
    White,
    Black,
    Asian,
    Aian,
    Nhpi,
    TwoMinority,
    NotAvailable,
    FreeForm,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum EthCat {
    Hispanic,
    NotHispanic,
    NotAvailable,
    FreeForm,
}

struct Person {
    eth: [V<'static>; 5],
    race: [V<'static>; 5],
    sex: i64,
    observed: i64,
    eth_cat: EthCat,
    race_cat: RaceCat,
}

fn person(
    rng: &mut Rng,
    na: bool,
    not_provided_p: f64,
    minority: f64,
    menominee: bool,
    partner: Option<&Person>,
) -> Person {
    let nulls = [V::Null; 5];
    if na {
        let mut eth = nulls;
        let mut race = nulls;
        eth[0] = V::I(4);
        race[0] = V::I(7);
        return Person {
            eth,
            race,
            sex: 4,
            observed: 3,
            eth_cat: EthCat::NotAvailable,
            race_cat: RaceCat::NotAvailable,
        };
    }
    let observed = if rng.chance(0.03) { 1 } else { 2 };
    let np = rng.chance(not_provided_p);
    let mut eth = nulls;
    let mut race = nulls;
    // ethnicity
    let eth_cat = if np && rng.chance(0.8) {
        eth[0] = V::I(3);
        EthCat::NotAvailable
    } else if rng.chance(0.0004) {
        EthCat::FreeForm // only free-form text: all code fields empty
    } else {
        let hisp_p = match partner {
            Some(p) if p.eth_cat == EthCat::Hispanic => 0.7,
            _ => 0.018 + minority * 0.0012,
        };
        if rng.chance(hisp_p) {
            match rng.pick(&[(0, 0.6), (1, 0.25), (2, 0.15)]) {
                0 => eth[0] = V::I(1),
                1 => {
                    eth[0] = V::I(1);
                    eth[1] = V::I(rng.pick(&[(11, 0.7), (12, 0.2), (13, 0.03), (14, 0.07)]));
                }
                _ => eth[0] = V::I(rng.pick(&[(11, 0.7), (12, 0.2), (13, 0.03), (14, 0.07)])),
            }
            EthCat::Hispanic
        } else {
            eth[0] = V::I(2);
            if rng.chance(0.002) {
                eth[1] = V::I(1);
            }
            EthCat::NotHispanic
        }
    };
    // race
    let race_cat = if np && rng.chance(0.85) {
        race[0] = V::I(6);
        RaceCat::NotAvailable
    } else if eth_cat == EthCat::FreeForm || rng.chance(0.0003) {
        RaceCat::FreeForm
    } else {
        let m = minority / 100.0;
        let cat = match partner {
            Some(p)
                if rng.chance(0.88)
                    && !matches!(p.race_cat, RaceCat::NotAvailable | RaceCat::FreeForm) =>
            {
                p.race_cat
            }
            _ => rng.pick(&[
                (RaceCat::White, (1.0 - 0.85 * m).max(0.05)),
                (RaceCat::Black, 0.42 * m * m + 0.01 * m),
                (RaceCat::Asian, 0.018 + 0.06 * m),
                (RaceCat::Aian, 0.003 + if menominee { 0.8 } else { 0.0 }),
                (RaceCat::Nhpi, 0.0008),
                (RaceCat::TwoMinority, 0.002 + 0.01 * m),
            ]),
        };
        match cat {
            RaceCat::White => {
                race[0] = V::I(5);
                if rng.chance(0.012) {
                    race[1] = V::I(rng.pick(&[(1, 0.6), (3, 0.2), (2, 0.2)]));
                }
            }
            RaceCat::Black => {
                race[0] = V::I(3);
                if rng.chance(0.01) {
                    race[1] = V::I(5);
                }
            }
            RaceCat::Asian => {
                let sub = rng.pick(&[
                    (27, 0.45),
                    (21, 0.2),
                    (22, 0.15),
                    (26, 0.07),
                    (23, 0.06),
                    (25, 0.05),
                    (24, 0.02),
                ]);
                if rng.chance(0.6) {
                    race[0] = V::I(2);
                    if rng.chance(0.35) {
                        race[1] = V::I(sub);
                    }
                } else {
                    race[0] = V::I(sub);
                }
            }
            RaceCat::Aian => race[0] = V::I(1),
            RaceCat::Nhpi => {
                race[0] = V::I(rng.pick(&[(4, 0.7), (41, 0.1), (42, 0.1), (43, 0.05), (44, 0.05)]))
            }
            RaceCat::TwoMinority => {
                race[0] = V::I(3);
                race[1] = V::I(rng.pick(&[(1, 0.5), (2, 0.3), (4, 0.2)]));
                if rng.chance(0.05) {
                    race[2] = V::I(1);
                    if rng.chance(0.1) {
                        race[3] = V::I(4);
                        if rng.chance(0.2) {
                            race[4] = V::I(2);
                        }
                    }
                }
            }
            _ => unreachable!(),
        }
        cat
    };
    let sex = if np && rng.chance(0.7) {
        3
    } else if rng.chance(0.003) {
        6
    } else {
        match partner {
            Some(_) => rng.pick(&[(2, 0.8), (1, 0.2)]),
            None => rng.pick(&[(1, 0.56), (2, 0.44)]),
        }
    };
    Person {
        eth,
        race,
        sex,
        observed,
        eth_cat,
        race_cat,
    }
}

fn derived_ethnicity(a: &Person, co: Option<&Person>) -> &'static str {
    let one = |e: EthCat| match e {
        EthCat::Hispanic => "Hispanic or Latino",
        EthCat::NotHispanic => "Not Hispanic or Latino",
        EthCat::NotAvailable => "Ethnicity Not Available",
        EthCat::FreeForm => "Free Form Text Only",
    };
    match co {
        None => one(a.eth_cat),
        Some(c) => match (a.eth_cat, c.eth_cat) {
            (EthCat::Hispanic, EthCat::NotHispanic) | (EthCat::NotHispanic, EthCat::Hispanic) => {
                "Joint"
            }
            (EthCat::NotAvailable | EthCat::FreeForm, x) => one(x),
            (x, _) => one(x),
        },
    }
}

fn derived_race(a: &Person, co: Option<&Person>) -> &'static str {
    let one = |r: RaceCat| match r {
        RaceCat::White => "White",
        RaceCat::Black => "Black or African American",
        RaceCat::Asian => "Asian",
        RaceCat::Aian => "American Indian or Alaska Native",
        RaceCat::Nhpi => "Native Hawaiian or Other Pacific Islander",
        RaceCat::TwoMinority => "2 or more minority races",
        RaceCat::NotAvailable => "Race Not Available",
        RaceCat::FreeForm => "Free Form Text Only",
    };
    match co {
        None => one(a.race_cat),
        Some(c) => {
            let known = |r: RaceCat| !matches!(r, RaceCat::NotAvailable | RaceCat::FreeForm);
            match (a.race_cat, c.race_cat) {
                (x, y)
                    if known(x)
                        && known(y)
                        && x != y
                        && (x == RaceCat::White || y == RaceCat::White) =>
                {
                    "Joint"
                }
                (x, y) if known(x) && known(y) && x != y => "2 or more minority races",
                (x, y) if !known(x) => one(y),
                (x, _) => one(x),
            }
        }
    }
}

fn derived_sex(a: i64, co: i64) -> &'static str {
    match (a, co) {
        (6, _) | (_, 6) => "Joint",
        (1, 2) | (2, 1) => "Joint",
        (1, _) => "Male",
        (2, _) => "Female",
        (_, 1) => "Male",
        (_, 2) => "Female",
        _ => "Sex Not Available",
    }
}

/// Writes the whole dump to `out` (uncompressed SQL). Returns the statistics of the data.
pub fn write_dump<W: Write>(
    out: &mut W,
    seed: u64,
    counties: &[County],
    pool: &Pool,
    plan: &Plan,
) -> std::io::Result<Stats> {
    let ctx = Ctx { counties, pool };
    let mut stats = Stats {
        in_range_by_county: vec![0; 73],
        ..Default::default()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(2 * schema::INSERT_BYTES);
    let mut written: u64 = 0;
    let mut flush = |out: &mut W, buf: &mut Vec<u8>| -> std::io::Result<()> {
        out.write_all(buf)?;
        written += buf.len() as u64;
        buf.clear();
        Ok(())
    };

    buf.extend_from_slice(schema::header().as_bytes());
    buf.push(b'\n');
    // loan_types (mysqldump orders tables by name: loan_types < loans)
    buf.extend_from_slice(
        schema::table_prologue(
            "loan_types",
            &[("id", "int NOT NULL"), ("loan_type_name", "text")],
            &["PRIMARY KEY (`id`)"],
        )
        .as_bytes(),
    );
    buf.extend_from_slice(schema::insert_prefix("loan_types").as_bytes());
    for (i, (id, name)) in LOAN_TYPES.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'(');
        push_int(&mut buf, *id);
        buf.push(b',');
        schema::push_str_lit(&mut buf, name);
        buf.push(b')');
    }
    buf.extend_from_slice(b";\n");
    buf.extend_from_slice(schema::table_epilogue("loan_types").as_bytes());

    buf.extend_from_slice(schema::table_prologue("loans", &LOANS_COLUMNS, &[]).as_bytes());
    flush(out, &mut buf)?;

    let mut rng = Rng::derive(seed, 0x726f_7773);
    let prefix = schema::insert_prefix("loans");
    let mut in_stmt = false;
    let mut row = [V::Unset; 99];
    for p in plan.rows.iter() {
        row.fill(V::Unset);
        let (amount, income_null) = synth_row(&mut rng, &ctx, *p, &mut row);
        // stats
        stats.total += 1;
        stats.by_type[p.ty as usize] += 1;
        if in_range(amount) {
            stats.in_range += 1;
            stats.in_range_by_county[p.county as usize] += 1;
        }
        if p.county == NULL_COUNTY {
            stats.null_county += 1;
        }
        if income_null {
            stats.null_income += 1;
        }
        if amount > stats.max_amount {
            stats.max_amount = amount;
        }
        // SQL
        if in_stmt {
            buf.push(b',');
        } else {
            buf.extend_from_slice(prefix.as_bytes());
            in_stmt = true;
        }
        buf.push(b'(');
        for (k, v) in row.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            emit_value(&mut buf, v);
        }
        buf.push(b')');
        if buf.len() >= schema::INSERT_BYTES {
            buf.extend_from_slice(b";\n");
            in_stmt = false;
            flush(out, &mut buf)?;
        }
    }
    if in_stmt {
        buf.extend_from_slice(b";\n");
    }
    buf.extend_from_slice(schema::table_epilogue("loans").as_bytes());
    buf.extend_from_slice(schema::footer().as_bytes());
    flush(out, &mut buf)?;
    stats.bytes_sql = written;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_decimals() {
        assert_eq!(fmt_trim(3000, 3).as_str(), "3.0");
        assert_eq!(fmt_trim(2875, 3).as_str(), "2.875");
        assert_eq!(fmt_trim(2990, 3).as_str(), "2.99");
        assert_eq!(fmt_trim(-123, 3).as_str(), "-0.123");
        assert_eq!(fmt_trim(-50, 3).as_str(), "-0.05");
        assert_eq!(fmt_trim(345678, 2).as_str(), "3456.78");
        assert_eq!(fmt_trim(235000, 2).as_str(), "2350.0");
        assert_eq!(fmt_trim(96500, 3).as_str(), "96.5");
    }

    #[test]
    fn bins() {
        assert_eq!(bin_midpoint(0.0), 5000.0);
        assert_eq!(bin_midpoint(29_999.0), 25_000.0);
        assert_eq!(bin_midpoint(30_000.0), 35_000.0);
        assert_eq!(bin_midpoint(799_999.0), 795_000.0);
        assert_eq!(bin_midpoint(800_000.0), 805_000.0);
        assert_eq!(bin_midpoint(264_185_123.0), 264_185_000.0);
    }

    #[test]
    fn values_render_like_mysqldump() {
        let mut v = Vec::new();
        for x in [
            V::F(155000.0),
            V::F(85.0),
            V::F(12.34),
            V::D2(11234),
            V::D2(5),
            V::I(-3),
            V::Null,
        ] {
            emit_value(&mut v, &x);
            v.push(b' ');
        }
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "155000 85 12.34 112.34 0.05 -3 NULL "
        );
    }
}
