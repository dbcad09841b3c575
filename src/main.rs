//! `softphone`: the desktop media agent.

mod agent;
mod audio_devices;
mod callcenter;
mod clock_watch;
mod diagnostics;
mod logging;
mod media_driver;
mod net_watch;
mod records;
mod ringing;
mod tls_peer;

use clap::{Parser, Subcommand};
// The config parser is the crate's library (src/lib.rs), shared with the fuzz targets.
use softphone::config;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "softphone",
    version,
    about = "SIP softphone agent with a localhost bridge for Salesforce Open CTI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent in the foreground: register with the PBX and serve the bridge.
    Run {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a configuration file and print what it resolves to (the password is hidden).
    CheckConfig {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print a Call Center definition file (XML) to import into Salesforce (docs/admin-guide.md).
    CallcenterXml {
        /// The CTI adapter URL Salesforce frames: the softphone page (https in a real org).
        #[arg(long)]
        adapter_url: String,
        /// Display name of the call center.
        #[arg(long, default_value = "Softphone")]
        name: String,
        /// Unique internal name (letters, digits, underscores; at most 40; fixed after import).
        #[arg(long, default_value = "Softphone")]
        internal_name: String,
        /// The agent's bridge port, read by the page from the call center settings.
        #[arg(long, default_value_t = 18088)]
        bridge_port: u16,
        /// Softphone panel height in px (240-2560).
        #[arg(long, default_value_t = 600)]
        height: u32,
        /// Softphone panel width in px (200-1920).
        #[arg(long, default_value_t = 360)]
        width: u32,
        /// The Apex class that logs each call exactly once (docs/admin-guide.md), e.g.
        /// SoftphoneCallLog; without it the page logs calls with saveLog.
        #[arg(long, default_value = "", hide_default_value = true)]
        apex_upsert_class: String,
    },
}

fn callcenter_xml(definition: callcenter::Definition) -> ExitCode {
    match callcenter::build(&definition) {
        Ok(xml) => {
            for note in callcenter::notes(&definition) {
                eprintln!("softphone: note: {note}");
            }
            // Not print!: a closed pipe (`| head`) is an error to report, not a panic.
            let mut out = std::io::stdout().lock();
            match out.write_all(xml.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("softphone: cannot write the file: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("softphone: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (path, check_only) = match cli.command {
        Command::CallcenterXml {
            adapter_url,
            name,
            internal_name,
            bridge_port,
            height,
            width,
            apex_upsert_class,
        } => {
            return callcenter_xml(callcenter::Definition {
                adapter_url,
                display_name: name,
                internal_name,
                bridge_port,
                height,
                width,
                apex_upsert_class,
            })
        }
        Command::Run { config } => (config, false),
        Command::CheckConfig { config } => (config, true),
    };
    let config = match config::Config::load(&path, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("softphone: {e}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        println!("{config:#?}");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = logging::init(&config) {
        eprintln!("softphone: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("softphone: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(agent::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("softphone: {e}");
            ExitCode::FAILURE
        }
    }
}
