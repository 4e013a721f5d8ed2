//! Mail: templates, the SES adapter and signed links. The policy gate that decides whether a
//! message may go is pure and lives in the domain (`domain::gate`).

pub mod links;
pub mod render;
// SES itself and its event notifications (which read the message tags SES echoes back).
#[cfg(feature = "aws")]
pub mod ses;
#[cfg(feature = "aws")]
pub mod ses_events;

pub use links::LinkKey;
pub use render::{Rendered, Renderer};
#[cfg(feature = "aws")]
pub use ses::{Mailer, Outgoing, SendError};
