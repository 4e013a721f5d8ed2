//! The marketers' view, pure: query filters parsed at the edge, message rows with masked
//! addresses, CSV that spreadsheets cannot execute, and the overview's figures. The
//! `message-log` handler reads the store and renders these.

pub mod answers;
pub mod audit;
pub mod charts;
pub mod csv;
pub mod cursor;
pub mod day_counts;
pub mod day_source;
pub mod deliverability;
pub mod filters;
pub mod funnel;
pub mod kind_figures;
pub mod labels;
pub mod nps_value;
pub mod overview;
pub mod overview_charts;
pub mod points;
pub mod rows;
pub mod uplift;

pub use filters::{Format, MessageFilter, QueryError};
pub use overview::{Overview, overview};
pub use rows::{MessageRow, mask_addresses_in, mask_email, shown_text, status_word};
