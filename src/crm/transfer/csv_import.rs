//! Importing records of one type from a CSV file as HubSpot exports them (calls by default;
//! contacts, deals or any other type when asked).
//!
//! HubSpot's exports name columns by property *label* ("Call Title", "Activity date") unless
//! internal names were asked for, and write option labels ("Inbound") unless internal
//! values were; both forms are read here. Rows become new records through the same create
//! path as the API (values validated and normalised, required properties, unique values,
//! pipelines, associations that must exist, history recorded with source `IMPORT`), so a row
//! gets a fresh id. As in HubSpot's own import, good rows are created and bad ones are
//! reported with their line number.

use std::io::Read;

use super::service::TransferService;
use super::{LineProblem, TransferError};
use crate::crm::associations::AssociationPair;
use crate::crm::error::{CrmError, StoreError};
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::properties::{PropertyCatalogue, PropertyDefinition, PropertyType};
use crate::crm::record::WriteSource;
use crate::crm::records::{
    create_record, create_records, AssociationRequest, BatchFailure, CreateRequest,
    MAX_BATCH_INPUTS,
};

/// One row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// What a CSV import did.
#[derive(Debug, Default)]
pub struct CsvReport {
    pub created: usize,
    pub failed: Vec<RowProblem>,
    /// Columns that were read, as `header -> property`.
    pub mapped: Vec<(String, String)>,
    /// Columns left out, with why.
    pub ignored: Vec<(String, &'static str)>,
}

/// What one column feeds.
#[derive(Debug, Clone)]
enum Column {
    Property(String),
    Associations(ObjectType),
    Ignored,
}

/// Maps a header cell to a column of a file of `object_type` records: internal name first,
/// then label, case-insensitively.
fn column_for(
    object_type: ObjectType,
    header: &str,
    schema: &PropertyCatalogue,
) -> (Column, Option<&'static str>) {
    let header = header.trim();
    let lower = header.to_lowercase();
    if let Some(kind) = lower
        .strip_prefix("associated ")
        .and_then(|rest| rest.strip_suffix(" ids"))
        .and_then(ObjectType::parse)
    {
        if AssociationPair::new(object_type, kind)
            .default_spec()
            .is_none()
        {
            return (
                Column::Ignored,
                Some("HubSpot defines no association between these types"),
            );
        }
        return (Column::Associations(kind), None);
    }
    if lower.starts_with("associated ") {
        return (
            Column::Ignored,
            Some("associated records by name; only \"Associated … IDs\" columns are read"),
        );
    }
    let def = schema
        .get(header)
        .or_else(|| schema.iter().find(|d| d.name.eq_ignore_ascii_case(header)))
        .or_else(|| schema.iter().find(|d| d.label.to_lowercase() == lower));
    match def {
        Some(def) if def.is_read_only() => (
            Column::Ignored,
            Some("set by hubcalls itself (a new id, dates and sources are given on import)"),
        ),
        Some(def) => (Column::Property(def.name.clone()), None),
        None => (
            Column::Ignored,
            Some("no property of the type has this name or label"),
        ),
    }
}

/// A cell as HubSpot exports it, turned into what the API accepts: option labels become
/// their values, "Yes"/"No" booleans, and "2024-05-01 10:00" datetimes (read as UTC).
fn api_value(def: &PropertyDefinition, cell: &str) -> String {
    let cell = cell.trim();
    match def.property_type {
        PropertyType::Enumeration if !def.options.is_empty() => {
            let one = |part: &str| {
                let part = part.trim();
                def.options
                    .iter()
                    .find(|o| o.value == part)
                    .or_else(|| {
                        def.options
                            .iter()
                            .find(|o| o.label.eq_ignore_ascii_case(part))
                    })
                    .or_else(|| {
                        def.options
                            .iter()
                            .find(|o| o.value.eq_ignore_ascii_case(part))
                    })
                    .map_or_else(|| part.to_owned(), |o| o.value.clone())
            };
            if def.is_multi_valued() {
                cell.split(';').map(one).collect::<Vec<_>>().join(";")
            } else {
                one(cell)
            }
        }
        PropertyType::Bool => match cell.to_ascii_lowercase().as_str() {
            "yes" => "true".to_owned(),
            "no" => "false".to_owned(),
            _ => cell.to_owned(),
        },
        PropertyType::Datetime => {
            let bytes = cell.as_bytes();
            // "YYYY-MM-DD HH:MM…": the spreadsheet form of an ISO datetime.
            if bytes.len() >= 16 && bytes[10] == b' ' && bytes[13] == b':' {
                format!("{}T{}", &cell[..10], &cell[11..])
            } else {
                cell.to_owned()
            }
        }
        _ => cell.to_owned(),
    }
}

/// Why a create of a record of `object_type` was refused, in one line.
fn describe(error: &CrmError, object_type: ObjectType) -> String {
    match error {
        CrmError::InvalidProperties(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.name, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        // A required property missing: name it, as the property problems are named.
        CrmError::Invalid { message, context } if !context.is_empty() => format!(
            "{}: {message}",
            context
                .iter()
                .flat_map(|(_, values)| values.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        // The `INVALID_*` lists say it all; `objectId`/`objectType` repeat their parts.
        CrmError::InvalidAssociations { context } => context
            .iter()
            .filter(|(key, _)| key.starts_with("INVALID_"))
            .flat_map(|(_, values)| values.iter().cloned())
            .collect::<Vec<_>>()
            .join("; "),
        CrmError::Store(StoreError::UniqueViolation {
            property,
            value,
            existing,
            ..
        }) => format!(
            "{property} \"{value}\" is a unique value already held by {} {existing}",
            object_type.singular
        ),
        other => other.to_string(),
    }
}

impl TransferService {
    /// Creates a record of `object_type` for each row of a HubSpot-style CSV export of that
    /// type. `progress` hears the running count of rows read.
    pub fn import_csv(
        &self,
        partition: Partition,
        input: impl Read,
        import_name: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<CsvReport, TransferError> {
        let object_type = partition.object_type;
        let schema = self.schemas.properties(partition)?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers = reader.headers().map_err(|e| csv_problem(1, &e))?.clone();
        let mut report = CsvReport::default();
        let mut columns = Vec::with_capacity(headers.len());
        for (at, header) in headers.iter().enumerate() {
            // A file saved by a spreadsheet may start with a byte-order mark.
            let header = if at == 0 {
                header.trim_start_matches('\u{feff}')
            } else {
                header
            };
            let (column, reason) = column_for(object_type, header, &schema);
            match (&column, reason) {
                (Column::Property(name), _) => {
                    if report.mapped.iter().any(|(_, n)| n == name) {
                        return Err(single_problem(
                            1,
                            format!(
                                "two columns name property {name} (the second is \"{header}\")"
                            ),
                        ));
                    }
                    report.mapped.push((header.to_owned(), name.clone()));
                }
                (Column::Associations(kind), _) => {
                    report.mapped.push((
                        header.to_owned(),
                        format!("associations to {}", kind.plural),
                    ));
                }
                (Column::Ignored, reason) => report
                    .ignored
                    .push((header.to_owned(), reason.unwrap_or("ignored"))),
            }
            columns.push(column);
        }
        let source = WriteSource {
            source_type: "IMPORT".to_owned(),
            source_id: Some(import_name.to_owned()),
        };
        let mut pending: Vec<(u64, CreateRequest)> = Vec::with_capacity(MAX_BATCH_INPUTS);
        let mut rows = 0;
        for record in reader.records() {
            rows += 1;
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(0, |p| p.line());
                    report.failed.push(RowProblem {
                        line,
                        message: csv_message(&error),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let mut request = CreateRequest {
                object_write_trace_id: Some(line.to_string()),
                ..CreateRequest::default()
            };
            for (column, cell) in columns.iter().zip(record.iter()) {
                if cell.trim().is_empty() {
                    continue;
                }
                match column {
                    Column::Property(name) => {
                        let value = schema
                            .get(name)
                            .map_or_else(|| cell.to_owned(), |def| api_value(def, cell));
                        request.properties.push((name.clone(), value));
                    }
                    Column::Associations(kind) => {
                        for id in cell
                            .split([';', ','])
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                        {
                            request.associations.push(AssociationRequest {
                                to_id: id.to_owned(),
                                types: AssociationPair::new(object_type, *kind)
                                    .default_spec()
                                    .map(|spec| {
                                        ("HUBSPOT_DEFINED".to_owned(), i64::from(spec.type_id))
                                    })
                                    .into_iter()
                                    .collect(),
                            });
                        }
                    }
                    Column::Ignored => {}
                }
            }
            pending.push((line, request));
            if pending.len() == MAX_BATCH_INPUTS {
                self.create_rows(partition, &source, &mut pending, &mut report)?;
                progress(rows);
            }
        }
        self.create_rows(partition, &source, &mut pending, &mut report)?;
        progress(rows);
        report.failed.sort_by_key(|p| p.line);
        Ok(report)
    }

    /// Creates a batch of rows; refused rows are reported one by one.
    fn create_rows(
        &self,
        partition: Partition,
        source: &WriteSource,
        pending: &mut Vec<(u64, CreateRequest)>,
        report: &mut CsvReport,
    ) -> Result<(), TransferError> {
        if pending.is_empty() {
            return Ok(());
        }
        let requests: Vec<CreateRequest> = pending.iter().map(|(_, r)| r.clone()).collect();
        match create_records(
            self.store.as_ref(),
            &self.schemas,
            &self.owners,
            partition,
            source,
            &requests,
        ) {
            Ok(outcome) => {
                report.created += outcome.calls.len();
                for failure in outcome.failures {
                    if let BatchFailure::Rejected { trace_id, error } = failure {
                        report.failed.push(RowProblem {
                            line: trace_id.and_then(|t| t.parse().ok()).unwrap_or(0),
                            message: describe(&error, partition.object_type),
                        });
                    }
                }
            }
            // A unique value repeated somewhere in the batch: find the rows one by one.
            Err(CrmError::Store(StoreError::UniqueViolation { .. })) => {
                for (line, request) in pending.iter() {
                    match create_record(
                        self.store.as_ref(),
                        &self.schemas,
                        &self.owners,
                        partition,
                        source,
                        request,
                    ) {
                        Ok(_) => report.created += 1,
                        Err(error @ CrmError::Store(StoreError::UniqueViolation { .. })) => {
                            report.failed.push(RowProblem {
                                line: *line,
                                message: describe(&error, partition.object_type),
                            })
                        }
                        Err(CrmError::Store(source)) => {
                            return Err(TransferError::Store {
                                written: report.created,
                                source,
                            })
                        }
                        Err(error) => report.failed.push(RowProblem {
                            line: *line,
                            message: describe(&error, partition.object_type),
                        }),
                    }
                }
            }
            Err(CrmError::Store(source)) => {
                return Err(TransferError::Store {
                    written: report.created,
                    source,
                })
            }
            Err(error) => return Err(error.into()),
        }
        pending.clear();
        Ok(())
    }
}

fn csv_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields; the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
        _ => error.to_string(),
    }
}

fn csv_problem(line: usize, error: &csv::Error) -> TransferError {
    single_problem(line, csv_message(error))
}

fn single_problem(line: usize, message: String) -> TransferError {
    TransferError::Invalid {
        problems: vec![LineProblem { line, message }],
        total: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_map_by_label_or_name() {
        let schema = PropertyCatalogue::builtin();
        let name = |header: &str| match column_for(ObjectType::CALLS, header, &schema).0 {
            Column::Property(name) => name,
            other => format!("{other:?}"),
        };
        assert_eq!(name("Call Title"), "hs_call_title");
        assert_eq!(name("activity date"), "hs_timestamp");
        assert_eq!(name("hs_call_direction"), "hs_call_direction");
        assert_eq!(name("Call notes"), "hs_call_body");
        assert!(matches!(
            column_for(ObjectType::CALLS, "Record ID", &schema).0,
            Column::Ignored
        ));
        assert!(matches!(
            column_for(ObjectType::CALLS, "Associated Contact IDs", &schema).0,
            Column::Associations(ObjectType::CONTACTS)
        ));
        assert!(matches!(
            column_for(ObjectType::CALLS, "Associated Contact", &schema).0,
            Column::Ignored
        ));
    }

    #[test]
    fn export_values_become_api_values() {
        let schema = PropertyCatalogue::builtin();
        let def = |name: &str| schema.get(name).unwrap().as_ref().clone();
        assert_eq!(api_value(&def("hs_call_direction"), "Inbound"), "INBOUND");
        assert_eq!(api_value(&def("hs_call_direction"), "OUTBOUND"), "OUTBOUND");
        assert_eq!(
            api_value(&def("hs_timestamp"), "2024-05-01 10:00"),
            "2024-05-01T10:00"
        );
        assert_eq!(api_value(&def("hs_call_has_voicemail"), "Yes"), "true");
    }
}
