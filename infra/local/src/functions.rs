//! The template's Lambda functions. Locally each handler runs with its own function's identity,
//! so that what its IAM policy in `infra/template.yaml` does not grant fails here as in AWS.

use trouw::domain::EventType;

/// One function of `infra/template.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    OrderPlaced,
    OrderDelivered,
    OrderReturned,
    AddressChanged,
    ProductChanged,
    SendMessages,
    CountDays,
    RunSchedule,
    SesEvents,
    CustomerLinks,
    MessageLog,
    LoyaltyApi,
}

impl Function {
    pub const ALL: [Function; 12] = [
        Function::OrderPlaced,
        Function::OrderDelivered,
        Function::OrderReturned,
        Function::AddressChanged,
        Function::ProductChanged,
        Function::SendMessages,
        Function::CountDays,
        Function::RunSchedule,
        Function::SesEvents,
        Function::CustomerLinks,
        Function::MessageLog,
        Function::LoyaltyApi,
    ];

    /// The function's logical id in the template: `OrderPlacedFunction`.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::OrderPlaced => "OrderPlacedFunction",
            Function::OrderDelivered => "OrderDeliveredFunction",
            Function::OrderReturned => "OrderReturnedFunction",
            Function::AddressChanged => "AddressChangedFunction",
            Function::ProductChanged => "ProductChangedFunction",
            Function::SendMessages => "SendMessagesFunction",
            Function::CountDays => "CountDaysFunction",
            Function::RunSchedule => "RunScheduleFunction",
            Function::SesEvents => "SesEventsFunction",
            Function::CustomerLinks => "CustomerLinksFunction",
            Function::MessageLog => "MessageLogFunction",
            Function::LoyaltyApi => "LoyaltyApiFunction",
        }
    }

    /// The Cargo binary its bootstrap is built from (`Metadata.BuildProperties.Binary`).
    pub fn binary(self) -> &'static str {
        match self {
            Function::OrderPlaced => "order-placed",
            Function::OrderDelivered => "order-delivered",
            Function::OrderReturned => "order-returned",
            Function::AddressChanged => "address-changed",
            Function::ProductChanged => "product-changed",
            Function::SendMessages => "send-messages",
            Function::CountDays => "count-days",
            Function::RunSchedule => "run-schedule",
            Function::SesEvents => "ses-events",
            Function::CustomerLinks => "customer-links",
            Function::MessageLog => "message-log",
            Function::LoyaltyApi => "loyalty-api",
        }
    }

    /// The function behind a webhook route (`/webhooks/{shop}/order-placed`, ...). Shopify's
    /// erasures arrive on the address-changed route, so they run as that function.
    pub fn for_webhook(event: EventType) -> Option<Function> {
        match event {
            EventType::OrderPlaced => Some(Function::OrderPlaced),
            EventType::OrderDelivered => Some(Function::OrderDelivered),
            EventType::OrderReturned => Some(Function::OrderReturned),
            EventType::AddressChanged => Some(Function::AddressChanged),
            EventType::ProductChanged => Some(Function::ProductChanged),
            EventType::Timer | EventType::CustomerAnswer => None,
        }
    }
}

/// What the template's names resolve to locally, for a function's identity: the stack's name,
/// its table and the other resources' local names, and the template parameters that differ from
/// their defaults (e.g. `SecretsPathPrefix`).
#[derive(Debug, Clone)]
pub struct LocalNames {
    pub stack: String,
    pub table: String,
    /// Local names of other resources by logical id (default: the template's own naming).
    pub resources: std::collections::BTreeMap<String, String>,
    pub parameters: std::collections::BTreeMap<String, String>,
    /// Another SAM template than `infra/template.yaml` (a test of a changed policy).
    pub template: Option<std::path::PathBuf>,
}

impl LocalNames {
    /// A stack named after its table, with the template's default parameters and the
    /// template's own names for its other resources (as the local stack names them).
    pub fn for_table(table: &str) -> LocalNames {
        LocalNames {
            stack: table.to_owned(),
            table: table.to_owned(),
            resources: Default::default(),
            parameters: Default::default(),
            template: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_in_the_template_with_its_binary() {
        let text =
            std::fs::read_to_string(crate::workspace_root().join("infra/template.yaml")).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        for f in Function::ALL {
            let resource = &doc["Resources"][f.logical_id()];
            assert_eq!(
                resource["Type"].as_str(),
                Some("AWS::Serverless::Function"),
                "{}",
                f.logical_id()
            );
            assert_eq!(
                resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
                Some(f.binary())
            );
        }
    }

    /// `make build` and `make bench` build the binaries the Makefile lists: a function missing
    /// there would deploy as whatever an earlier build left, or not at all.
    #[test]
    fn the_makefile_builds_every_function() {
        let text = std::fs::read_to_string(crate::workspace_root().join("Makefile")).unwrap();
        let start = text
            .find("\nFUNCTIONS := ")
            .expect("FUNCTIONS in the Makefile")
            + 1;
        let mut listed = Vec::new();
        for line in text[start..].lines() {
            let line = line.trim_start_matches("FUNCTIONS := ");
            listed.extend(
                line.trim_end_matches('\\')
                    .split_whitespace()
                    .map(str::to_owned),
            );
            if !line.ends_with('\\') {
                break;
            }
        }
        listed.sort();
        let mut functions: Vec<String> = Function::ALL
            .iter()
            .map(|f| f.binary().to_owned())
            .collect();
        functions.sort();
        assert_eq!(listed, functions);
    }
}
