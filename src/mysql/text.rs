//! Text-protocol row packets (COM_QUERY) into Arrow builders: measured against the binary
//! protocol the export uses (tests only; `live::decoder_cpu_and_wall_time`). Every cell is
//! text, so numbers and dates are parsed here.

use mysql_common::io::ParseBuf;

use super::{
    builders::{BatchBuilder, ColumnBuilder},
    schema::civil_days,
};
use crate::error::Result;

impl BatchBuilder {
    /// Appends one text row packet: per column a length-encoded string or 0xFB (NULL).
    pub(super) fn push_text(&mut self, row: &[u8]) -> Result<()> {
        let mut buf = ParseBuf(row);
        for (index, column) in self.columns.iter_mut().enumerate() {
            if buf.0.first() == Some(&0xFB) {
                buf.skip(1);
                column.append_null();
                continue;
            }
            let cell = buf.checked_eat_lenenc_str().ok_or("truncated row");
            cell.map_err(str::to_owned)
                .and_then(|text| column.append_text(text))
                .map_err(|why| Self::cell_error(&self.schema, index, self.rows, why))?;
        }
        self.rows += 1;
        Ok(())
    }
}

impl ColumnBuilder {
    fn append_text(&mut self, text: &[u8]) -> Result<(), String> {
        let number = || std::str::from_utf8(text).map_err(|e| e.to_string());
        match self {
            Self::Int32(b) => b.append_value(number()?.parse().map_err(|_| bad(text))?),
            Self::Int64(b) => b.append_value(number()?.parse().map_err(|_| bad(text))?),
            Self::UInt64(b) => b.append_value(number()?.parse().map_err(|_| bad(text))?),
            Self::Float32(b) => b.append_value(number()?.parse().map_err(|_| bad(text))?),
            Self::Float64(b) => b.append_value(number()?.parse().map_err(|_| bad(text))?),
            Self::Date(b) => {
                let [y, m, d, ..] = datetime(text)?;
                b.append_value(civil_days(y, m, d) as i32)
            }
            Self::Timestamp(b) => {
                let [y, mo, d, h, mi, s, us] = datetime(text)?;
                let secs = civil_days(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
                b.append_value(secs * 1_000_000 + us)
            }
            _ => return self.append_bytes(text),
        }
        Ok(())
    }
}

/// "YYYY-MM-DD[ HH:MM:SS[.ffffff]]" as its seven numbers (microseconds last).
fn datetime(text: &[u8]) -> Result<[i64; 7], String> {
    let mut out = [0i64; 7];
    let mut field = 0;
    let mut digits = 0u32;
    for &c in text {
        match c {
            b'0'..=b'9' => {
                out[field] = out[field] * 10 + i64::from(c - b'0');
                digits += 1;
            }
            b'-' | b' ' | b':' | b'.' if field < 6 => {
                field += 1;
                digits = 0;
            }
            _ => return Err(bad(text)),
        }
    }
    if field == 6 {
        out[6] *= 10i64.pow(6u32.saturating_sub(digits));
    }
    Ok(out)
}

fn bad(text: &[u8]) -> String {
    format!(
        "{:?} is not what its column holds",
        String::from_utf8_lossy(text)
    )
}
