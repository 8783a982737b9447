//! Child processes the tests start (the `hookstorm` binary, the Python
//! receivers) and their output: every child is killed when its test ends,
//! however it ends, and every run of the binary is bounded in time.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The `hookstorm` binary cargo built for these tests.
pub const HOOKSTORM: &str = env!("CARGO_BIN_EXE_hookstorm");

/// A child process, killed and reaped on drop.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Sends `signal` (a `kill` option such as `-INT`) to the child.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal}");
    }

    /// Waits for the child to exit, failing the test with `what` if it
    /// has not within `limit`.
    pub fn exit_within(&mut self, limit: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl KillOnDrop {
    /// Reads the child's piped stderr up to and including its first line,
    /// byte by byte so that the rest stays in the pipe for [`drain`].
    /// `hookstorm load` prints its plan there just before it starts
    /// sending: timing from that line, not from the spawn, keeps a test's
    /// "stop it after 1.5 s of load" true on a busy machine, where start-up
    /// alone can take a second.
    pub fn first_stderr_line(&mut self) -> String {
        let pipe = self.0.stderr.as_mut().expect("a piped stderr");
        let mut line = Vec::new();
        let mut byte = [0u8];
        while pipe.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        lossy(&line)
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of a child's piped stdout, trimmed (the Python servers
/// print their port there).
pub fn first_line(child: &mut Child) -> String {
    let out = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    line.trim().to_string()
}

/// The URL a `hookstorm receiver` child prints as `listening on URL` within
/// its first four lines of piped stdout. The reader is dropped afterwards:
/// the receiver must survive a closed stdout.
pub fn listening_url(child: &mut Child) -> Option<String> {
    BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(4)
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
}

/// Starts the Python standard-library receiver (`tests/py_receiver`) with
/// `faults` and `secret` in HOOK_SECRET; the child and its base URL.
pub fn python_receiver(faults: &[&str], secret: &str) -> (KillOnDrop, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py_receiver/receiver.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(["--port", "0"]);
    start_receiver_script(cmd, faults, secret)
}

/// Starts a Python receiver script `cmd` (its interpreter and arguments
/// set) with `faults` and `secret` in HOOK_SECRET; it prints its port on
/// the first line. The child and its base URL.
pub fn start_receiver_script(
    mut cmd: Command,
    faults: &[&str],
    secret: &str,
) -> (KillOnDrop, String) {
    for f in faults {
        cmd.args(["--fault", f]);
    }
    let mut child = cmd
        .env("HOOK_SECRET", secret)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} runs: {e}", cmd.get_program()));
    let port: u16 = first_line(&mut child).parse().expect("the port on stdout");
    (KillOnDrop(child), format!("http://127.0.0.1:{port}"))
}

/// Runs `cmd` (killed if dropped) to its end, failing the test with `what`
/// if that takes longer than `limit`.
pub async fn output_within(
    mut cmd: tokio::process::Command,
    limit: Duration,
    what: &str,
) -> Output {
    cmd.kill_on_drop(true);
    tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not end within {limit:?}"))
        .expect("the binary runs")
}

/// Everything left in a child's piped output.
pub fn drain(pipe: Option<impl Read>) -> String {
    let mut text = String::new();
    pipe.expect("a piped output")
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Bytes a child wrote, as text.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A finished child's stdout, as text.
pub fn stdout(o: &Output) -> String {
    lossy(&o.stdout)
}

/// A finished child's stderr, as text.
pub fn stderr(o: &Output) -> String {
    lossy(&o.stderr)
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn transcript(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        lossy(&o.stdout),
        lossy(&o.stderr)
    )
}
