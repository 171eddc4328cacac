//! `hubcalls export` and `hubcalls import`: a portal out to NDJSON (every object type), and
//! NDJSON or a HubSpot CSV export of one type back in, on the store of `--data-dir`. They
//! open the database directly, so the server must be stopped meanwhile (on a running server,
//! use the admin API instead).

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use hubcalls::config::{Storage, DEFAULT_DATA_DIR};
use hubcalls::crm::objects::{ObjectType, Partition};
use hubcalls::crm::ports::Store;
use hubcalls::crm::record::PortalId;
use hubcalls::crm::search::SearchLimits;
use hubcalls::crm::services::Services;
use hubcalls::crm::transfer::{
    apply_import, check_import, export_portal, ImportOptions, TransferError,
};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Problems printed before the rest are only counted.
const LISTED_ROWS: usize = 50;

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory of the embedded database (stop the server that uses it first).
    #[arg(long, env = "HUBCALLS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The portal to export (default: the only portal in the store).
    #[arg(long)]
    portal: Option<PortalId>,
    /// Where to write the NDJSON; `-` is standard output.
    #[arg(long, default_value = "-")]
    out: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// hubcalls' own format, as `hubcalls export` writes it.
    Ndjson,
    /// A HubSpot export of one object type, calls unless `--object-type` says otherwise
    /// (columns named by property label or internal name).
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file to load.
    file: PathBuf,
    /// The portal to load into (NDJSON: default the file's header; CSV: default 1).
    #[arg(long)]
    portal: Option<PortalId>,
    /// The file's format (default: csv for a `.csv` file, ndjson otherwise).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// CSV only: the type of the file's records (`contacts`, `deals`, `0-5`, …; default
    /// calls). An NDJSON file names each record's type itself.
    #[arg(long, value_parser = parse_object_type)]
    object_type: Option<ObjectType>,
    /// Remove everything of the portal first.
    #[arg(long)]
    reset: bool,
    #[command(flatten)]
    store: StoreArgs,
}

fn parse_object_type(text: &str) -> Result<ObjectType, String> {
    ObjectType::parse(text).ok_or_else(|| {
        let known: Vec<&str> = ObjectType::all().map(|t| t.plural).collect();
        format!(
            "unknown object type \"{text}\" (one of {})",
            known.join(", ")
        )
    })
}

fn open(store: &StoreArgs, must_exist: bool) -> Result<Arc<dyn Store>, String> {
    if must_exist && !store.data_dir.is_dir() {
        return Err(format!("no store at {}", store.data_dir.display()));
    }
    hubcalls::open_store(&Storage::Directory(store.data_dir.clone()), None)
        .map_err(|e| format!("cannot open the store at {}: {e}", store.data_dir.display()))
}

/// A progress display on stderr when it is a terminal (hidden otherwise, e.g. in CI).
fn progress(total: Option<usize>, verb: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total as u64),
            format!("{verb} [{{bar:30}}] {{pos}}/{{len}} records ({{rate}}, {{eta}} left)"),
        ),
        None => (
            ProgressBar::new_spinner(),
            format!("{{spinner}} {verb} {{pos}} records ({{rate}}, {{elapsed}})"),
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0} records/s", state.per_sec());
            },
        ));
    }
    bar
}

fn describe(error: TransferError, file: &Path) -> String {
    match error {
        TransferError::Invalid { problems, total } => {
            let mut text = format!(
                "{}: {total} problem(s); nothing was written",
                file.display()
            );
            for problem in &problems {
                text.push_str(&format!("\n  {problem}"));
            }
            if total > problems.len() {
                text.push_str(&format!("\n  … and {} more", total - problems.len()));
            }
            text
        }
        other => other.to_string(),
    }
}

pub fn export(args: ExportArgs) -> Result<(), String> {
    let store = open(&args.store, true)?;
    let portal = match args.portal {
        Some(portal) => portal,
        None => {
            let portals = store.portals().map_err(|e| e.to_string())?;
            match portals.as_slice() {
                [only] => *only,
                [] => return Err("the store holds no portal: nothing to export".to_owned()),
                many => {
                    let list: Vec<String> = many.iter().map(|p| p.to_string()).collect();
                    return Err(format!(
                        "the store holds portals {}: choose one with --portal",
                        list.join(", ")
                    ));
                }
            }
        }
    };
    let to_stdout = args.out.as_os_str() == "-";
    // A file is written beside its final name and renamed at the end, so a failed export
    // never leaves a truncated file that looks complete.
    let partial = args.out.with_extension("partial");
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        let file = File::create(&partial)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        Box::new(BufWriter::new(file))
    };
    let bar = progress(None, "exported");
    let outcome = export_portal(store.as_ref(), portal, &mut out, &mut |count| {
        bar.set_position(count as u64)
    });
    bar.finish_and_clear();
    drop(out);
    let summary = match outcome {
        Ok(summary) => summary,
        Err(error) => {
            if !to_stdout {
                let _ = std::fs::remove_file(&partial);
            }
            return Err(error.to_string());
        }
    };
    if !to_stdout {
        std::fs::rename(&partial, &args.out)
            .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    }
    eprintln!("exported portal {}: {}", summary.portal, summary.describe());
    Ok(())
}

pub fn import(args: ImportArgs) -> Result<(), String> {
    let format = args.format.unwrap_or_else(|| {
        let is_csv = args
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            Format::Csv
        } else {
            Format::Ndjson
        }
    });
    let read = |path: &Path| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let file = &args.file;
    // Checked before the store is opened, so a missing file creates no empty store.
    read(file)?;
    let store = open(&args.store, false)?;
    if format == Format::Ndjson && args.object_type.is_some() {
        return Err(
            "--object-type is for CSV files: an NDJSON file names each record's type".to_owned(),
        );
    }
    match format {
        Format::Ndjson => {
            let options = ImportOptions {
                portal: args.portal,
                reset: args.reset,
            };
            let checking = if std::io::stderr().is_terminal() {
                let spinner = ProgressBar::new_spinner();
                spinner.set_message(format!("checking {}", file.display()));
                spinner.enable_steady_tick(std::time::Duration::from_millis(120));
                spinner
            } else {
                ProgressBar::hidden()
            };
            let checked = check_import(store.as_ref(), read(file)?, options);
            checking.finish_and_clear();
            let plan = checked.map_err(|e| describe(e, file))?;
            let bar = progress(Some(plan.records()), "imported");
            let outcome = apply_import(store.as_ref(), &plan, read(file)?, &mut |count| {
                bar.set_position(count as u64)
            });
            bar.finish_and_clear();
            let summary = outcome.map_err(|e| describe(e, file))?;
            eprintln!(
                "imported into portal {}: {}",
                summary.portal,
                summary.describe()
            );
            Ok(())
        }
        Format::Csv => {
            let portal = args.portal.unwrap_or(1);
            let object_type = args.object_type.unwrap_or(ObjectType::CALLS);
            let crm = Services::new(store, SearchLimits::default());
            if args.reset {
                crm.records
                    .reset_portal(portal)
                    .map_err(|e| e.to_string())?;
            }
            let name = file
                .file_name()
                .map_or_else(|| "csv".to_owned(), |n| n.to_string_lossy().into_owned());
            let bar = progress(None, "read");
            let partition = Partition::new(portal, object_type);
            let outcome = crm
                .transfer
                .import_csv(partition, read(file)?, &name, &mut |count| {
                    bar.set_position(count as u64)
                });
            bar.finish_and_clear();
            let report = outcome.map_err(|e| describe(e, file))?;
            for (header, property) in &report.mapped {
                eprintln!("  column \"{header}\" -> {property}");
            }
            for (header, why) in &report.ignored {
                eprintln!("  column \"{header}\" ignored: {why}");
            }
            eprintln!(
                "imported into portal {portal}: {} {} created, {} row(s) refused",
                report.created,
                object_type.plural,
                report.failed.len()
            );
            if report.failed.is_empty() {
                return Ok(());
            }
            let mut text = format!(
                "{}: {} row(s) were not imported (the others were)",
                file.display(),
                report.failed.len()
            );
            for problem in report.failed.iter().take(LISTED_ROWS) {
                text.push_str(&format!("\n  line {}: {}", problem.line, problem.message));
            }
            if report.failed.len() > LISTED_ROWS {
                text.push_str(&format!(
                    "\n  … and {} more",
                    report.failed.len() - LISTED_ROWS
                ));
            }
            Err(text)
        }
    }
}
