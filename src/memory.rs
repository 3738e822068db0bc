//! The process's own memory figures, for the debug logs that time each phase of a
//! syncback or a session start (peak memory is a target, so logs show where it goes).

/// Resident memory now and at its peak, such as `"235492 kB (peak 275328 kB)"` (Linux
/// only; empty elsewhere).
pub fn resident() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .map(|line| {
                line.split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(now), Some(peak)) => format!("{now} (peak {peak})"),
        (Some(now), None) => now,
        _ => String::new(),
    }
}

/// Hands memory the allocator keeps but no longer uses back to the system. Between two
/// big phases that free most of what they built (a live syncback, then the new session),
/// glibc keeps the freed pages resident: after the 100k-instance benchmark's syncback,
/// 243 MB were resident and 119 MB in use. A no-op on other platforms.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}
