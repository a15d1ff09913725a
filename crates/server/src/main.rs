use std::process::ExitCode;

// Many small, short-lived allocations per request (headers, ids, audit entries) shared across
// threads: mimalloc's per-thread heaps do this with less contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match server::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lienthong: {error:#}");
            ExitCode::FAILURE
        }
    }
}
