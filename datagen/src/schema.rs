//! Table definitions and the mysqldump-style framing of the dump.
//!
//! Column types are chosen the way a hand-tuned import of the public HMDA LAR CSV would end up:
//! integer codes as INT, tract counts as BIGINT, the two tract percentages as DOUBLE and
//! DECIMAL(6,2), `loan_amount` and `income` as DOUBLE (the CSV carries them as numbers, income
//! with gaps), and every field that mixes numbers with `NA` / `Exempt` (or is a range such as
//! `20%-<30%` or `35-44`) as VARCHAR. See docs/data.md.

/// The 99 columns of `loans`, in the order of the public HMDA LAR file (`loan_type` is named
/// `loan_type_id`).
pub const LOANS_COLUMNS: [(&str, &str); 99] = [
    ("activity_year", "int NOT NULL"),
    ("lei", "varchar(20) NOT NULL"),
    ("derived_msa_md", "int DEFAULT NULL"),
    ("state_code", "varchar(2) DEFAULT NULL"),
    ("county_code", "int DEFAULT NULL"),
    ("census_tract", "varchar(11) DEFAULT NULL"),
    ("conforming_loan_limit", "varchar(2) DEFAULT NULL"),
    ("derived_loan_product_type", "varchar(40) DEFAULT NULL"),
    ("derived_dwelling_category", "varchar(45) DEFAULT NULL"),
    ("derived_ethnicity", "varchar(30) DEFAULT NULL"),
    ("derived_race", "varchar(45) DEFAULT NULL"),
    ("derived_sex", "varchar(20) DEFAULT NULL"),
    ("action_taken", "int DEFAULT NULL"),
    ("purchaser_type", "int DEFAULT NULL"),
    ("preapproval", "int DEFAULT NULL"),
    ("loan_type_id", "int NOT NULL"),
    ("loan_purpose", "int DEFAULT NULL"),
    ("lien_status", "int DEFAULT NULL"),
    ("reverse_mortgage", "int DEFAULT NULL"),
    ("open_end_line_of_credit", "int DEFAULT NULL"),
    ("business_or_commercial_purpose", "int DEFAULT NULL"),
    ("loan_amount", "double NOT NULL"),
    ("loan_to_value_ratio", "varchar(20) DEFAULT NULL"),
    ("interest_rate", "varchar(20) DEFAULT NULL"),
    ("rate_spread", "varchar(20) DEFAULT NULL"),
    ("hoepa_status", "int DEFAULT NULL"),
    ("total_loan_costs", "varchar(20) DEFAULT NULL"),
    ("total_points_and_fees", "varchar(20) DEFAULT NULL"),
    ("origination_charges", "varchar(20) DEFAULT NULL"),
    ("discount_points", "varchar(20) DEFAULT NULL"),
    ("lender_credits", "varchar(20) DEFAULT NULL"),
    ("loan_term", "varchar(10) DEFAULT NULL"),
    ("prepayment_penalty_term", "varchar(10) DEFAULT NULL"),
    ("intro_rate_period", "varchar(10) DEFAULT NULL"),
    ("negative_amortization", "int DEFAULT NULL"),
    ("interest_only_payment", "int DEFAULT NULL"),
    ("balloon_payment", "int DEFAULT NULL"),
    ("other_nonamortizing_features", "int DEFAULT NULL"),
    ("property_value", "varchar(20) DEFAULT NULL"),
    ("construction_method", "int DEFAULT NULL"),
    ("occupancy_type", "int DEFAULT NULL"),
    (
        "manufactured_home_secured_property_type",
        "int DEFAULT NULL",
    ),
    (
        "manufactured_home_land_property_interest",
        "int DEFAULT NULL",
    ),
    ("total_units", "varchar(10) DEFAULT NULL"),
    ("multifamily_affordable_units", "varchar(10) DEFAULT NULL"),
    ("income", "double DEFAULT NULL"),
    ("debt_to_income_ratio", "varchar(10) DEFAULT NULL"),
    ("applicant_credit_score_type", "int DEFAULT NULL"),
    ("co_applicant_credit_score_type", "int DEFAULT NULL"),
    ("applicant_ethnicity_1", "int DEFAULT NULL"),
    ("applicant_ethnicity_2", "int DEFAULT NULL"),
    ("applicant_ethnicity_3", "int DEFAULT NULL"),
    ("applicant_ethnicity_4", "int DEFAULT NULL"),
    ("applicant_ethnicity_5", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_1", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_2", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_3", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_4", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_5", "int DEFAULT NULL"),
    ("applicant_ethnicity_observed", "int DEFAULT NULL"),
    ("co_applicant_ethnicity_observed", "int DEFAULT NULL"),
    ("applicant_race_1", "int DEFAULT NULL"),
    ("applicant_race_2", "int DEFAULT NULL"),
    ("applicant_race_3", "int DEFAULT NULL"),
    ("applicant_race_4", "int DEFAULT NULL"),
    ("applicant_race_5", "int DEFAULT NULL"),
    ("co_applicant_race_1", "int DEFAULT NULL"),
    ("co_applicant_race_2", "int DEFAULT NULL"),
    ("co_applicant_race_3", "int DEFAULT NULL"),
    ("co_applicant_race_4", "int DEFAULT NULL"),
    ("co_applicant_race_5", "int DEFAULT NULL"),
    ("applicant_race_observed", "int DEFAULT NULL"),
    ("co_applicant_race_observed", "int DEFAULT NULL"),
    ("applicant_sex", "int DEFAULT NULL"),
    ("co_applicant_sex", "int DEFAULT NULL"),
    ("applicant_sex_observed", "int DEFAULT NULL"),
    ("co_applicant_sex_observed", "int DEFAULT NULL"),
    ("applicant_age", "varchar(5) DEFAULT NULL"),
    ("co_applicant_age", "varchar(5) DEFAULT NULL"),
    ("applicant_age_above_62", "varchar(3) DEFAULT NULL"),
    ("co_applicant_age_above_62", "varchar(3) DEFAULT NULL"),
    ("submission_of_application", "int DEFAULT NULL"),
    ("initially_payable_to_institution", "int DEFAULT NULL"),
    ("aus_1", "int DEFAULT NULL"),
    ("aus_2", "int DEFAULT NULL"),
    ("aus_3", "int DEFAULT NULL"),
    ("aus_4", "int DEFAULT NULL"),
    ("aus_5", "int DEFAULT NULL"),
    ("denial_reason_1", "int DEFAULT NULL"),
    ("denial_reason_2", "int DEFAULT NULL"),
    ("denial_reason_3", "int DEFAULT NULL"),
    ("denial_reason_4", "int DEFAULT NULL"),
    ("tract_population", "bigint DEFAULT NULL"),
    ("tract_minority_population_percent", "double DEFAULT NULL"),
    ("ffiec_msa_md_median_family_income", "bigint DEFAULT NULL"),
    (
        "tract_to_msa_income_percentage",
        "decimal(6,2) DEFAULT NULL",
    ),
    ("tract_owner_occupied_units", "bigint DEFAULT NULL"),
    ("tract_one_to_four_family_homes", "bigint DEFAULT NULL"),
    ("tract_median_age_of_housing_units", "bigint DEFAULT NULL"),
];

/// Index of a `loans` column by name, at compile time (an unknown name fails the build).
pub const fn col_index(name: &str) -> usize {
    let mut i = 0;
    while i < LOANS_COLUMNS.len() {
        if str_eq(LOANS_COLUMNS[i].0, name) {
            return i;
        }
        i += 1;
    }
    panic!("unknown loans column");
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

pub const LOAN_TYPES: [(i64, &str); 4] = [
    (1, "Conventional"),
    (2, "FHA-insured"),
    (3, "VA-guaranteed"),
    (4, "RHS or FSA-guaranteed"),
];

/// An extended INSERT is closed once it passes this many bytes (like mysqldump's
/// net_buffer_length): well under every server's max_allowed_packet.
pub const INSERT_BYTES: usize = 1_000_000;

pub fn header() -> String {
    "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n\
--\n\
-- Host: localhost    Database: CS544\n\
-- ------------------------------------------------------\n\
-- Server version\t8.0.36\n\
--\n\
-- SYNTHETIC DATA generated by the `datagen` crate of the lender project: same schema and\n\
-- headline figures as the 2021 public HMDA LAR for Wisconsin, not real records.\n\
\n\
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n\
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n\
/*!50503 SET NAMES utf8mb4 */;\n\
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n\
/*!40103 SET TIME_ZONE='+00:00' */;\n\
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n\
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n\
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n\
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n"
        .to_string()
}

pub fn footer() -> String {
    "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\
\n\
/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n\
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n\
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n\
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n\
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n\
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n\
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\
\n\
-- Dump completed\n"
        .to_string()
}

fn create_table(name: &str, cols: &[(&str, &str)], extra: &[&str]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "--\n-- Table structure for table `{name}`\n--\n\n\
DROP TABLE IF EXISTS `{name}`;\n\
/*!40101 SET @saved_cs_client     = @@character_set_client */;\n\
/*!50503 SET character_set_client = utf8mb4 */;\n\
CREATE TABLE `{name}` (\n"
    ));
    let mut lines: Vec<String> = cols.iter().map(|(c, t)| format!("  `{c}` {t}")).collect();
    lines.extend(extra.iter().map(|e| format!("  {e}")));
    s.push_str(&lines.join(",\n"));
    // No COLLATE clause: MySQL 8's default utf8mb4_0900_ai_ci does not exist in MariaDB.
    s.push_str("\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n/*!40101 SET character_set_client = @saved_cs_client */;\n\n");
    s
}

pub fn table_prologue(name: &str, cols: &[(&str, &str)], extra: &[&str]) -> String {
    let mut s = create_table(name, cols, extra);
    s.push_str(&format!(
        "--\n-- Dumping data for table `{name}`\n--\n\n\
LOCK TABLES `{name}` WRITE;\n\
/*!40000 ALTER TABLE `{name}` DISABLE KEYS */;\n"
    ));
    s
}

pub fn table_epilogue(name: &str) -> String {
    format!("/*!40000 ALTER TABLE `{name}` ENABLE KEYS */;\nUNLOCK TABLES;\n\n")
}

pub fn insert_prefix(name: &str) -> String {
    format!("INSERT INTO `{name}` VALUES ")
}

/// Appends a quoted SQL string literal (mysqldump escaping).
pub fn push_str_lit(out: &mut Vec<u8>, s: &str) {
    out.push(b'\'');
    for &b in s.as_bytes() {
        match b {
            b'\'' => out.extend_from_slice(b"\\'"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            0x1a => out.extend_from_slice(b"\\Z"),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_nine_unique_columns_no_id() {
        let names: std::collections::HashSet<&str> = LOANS_COLUMNS.iter().map(|c| c.0).collect();
        assert_eq!(names.len(), 99);
        assert!(!names.contains("id"));
        assert!(!names.contains("loan_type_name"));
        assert!(!names.contains("loan_type"));
        assert!(names.contains("loan_type_id"));
        assert_eq!(LOANS_COLUMNS[0].0, "activity_year");
        assert_eq!(LOANS_COLUMNS[98].0, "tract_median_age_of_housing_units");
    }

    #[test]
    fn escaping() {
        let mut v = Vec::new();
        push_str_lit(&mut v, "a'b\\c");
        assert_eq!(String::from_utf8(v).unwrap(), "'a\\'b\\\\c'");
    }
}
