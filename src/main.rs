//! `softphone`: the desktop media agent.

mod agent;
mod audio_devices;
mod config;
mod logging;
mod media_driver;
mod records;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Command::Run { config: path } | Command::CheckConfig { config: path }) = &cli.command;
    let config = match config::Config::load(path, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("softphone: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::CheckConfig { .. } => {
            println!("{config:#?}");
            ExitCode::SUCCESS
        }
        Command::Run { .. } => {
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
    }
}
