//! Mail: templates, the SES adapter and signed links. The policy gate that decides whether a
//! message may go is pure and lives in the domain (`domain::gate`).

pub mod links;
pub mod render;
pub mod ses;
pub mod ses_events;

pub use links::LinkKey;
pub use render::{Rendered, Renderer};
pub use ses::{Mailer, Outgoing, SendError};
