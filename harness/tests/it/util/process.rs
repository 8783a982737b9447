//! Child processes the tests start (the `hookstorm` binary, the Python
//! receivers) and their output: every child is killed when its test ends,
//! however it ends, and every run of the binary is bounded in time.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The `hookstorm` binary cargo built for these tests.
pub const HOOKSTORM: &str = env!("CARGO_BIN_EXE_hookstorm");

/// How long one run of the binary may take unless a test says otherwise:
/// generous, as two cores are shared by several test threads, yet a hang
/// fails the test instead of the whole suite.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// One run of the `hookstorm` binary as the tests start it (in the style of
/// ripgrep's `TestCommand`): in CI mode (`CI=true`), with `HOOK_SECRET`
/// removed unless [`Hookstorm::secret`] sets it, so that the developer's
/// environment never leaks into a test; stdin empty (no command reads it); bounded by
/// [`RUN_LIMIT`] unless [`Hookstorm::within`] says otherwise.
pub struct Hookstorm {
    cmd: Command,
    limit: Duration,
    /// Whether [`Hookstorm::spawn`] pipes stdout (else discards it).
    pipe_stdout: bool,
    /// Whether [`Hookstorm::spawn`] pipes stderr (else discards it).
    pipe_stderr: bool,
}

/// `hookstorm ARGS` with the defaults of [`Hookstorm`].
pub fn hookstorm<I, S>(args: I) -> Hookstorm
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(HOOKSTORM);
    cmd.args(args).env("CI", "true").env_remove("HOOK_SECRET");
    Hookstorm {
        cmd,
        limit: RUN_LIMIT,
        pipe_stdout: true,
        pipe_stderr: true,
    }
}

impl Hookstorm {
    /// Appends `args`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets `secret` in `HOOK_SECRET`, the variable `--secret-env` names by
    /// default.
    pub fn secret(self, secret: &str) -> Self {
        self.env("HOOK_SECRET", secret)
    }

    /// Sets the environment variable `key` to `value`.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes the environment variable `key`.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Runs in `dir` instead of the test's working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Bounds the run by `limit` instead of [`RUN_LIMIT`].
    pub fn within(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Discards what a [`Hookstorm::spawn`]ed child writes to stdout: an
    /// unread pipe would fill and block it.
    pub fn stdout_null(mut self) -> Self {
        self.pipe_stdout = false;
        self
    }

    /// Discards what a [`Hookstorm::spawn`]ed child writes to stderr.
    pub fn stderr_null(mut self) -> Self {
        self.pipe_stderr = false;
        self
    }

    /// The command as configured, for a test that must run it its own way
    /// (sampling the child while it runs); the time bound is then its own.
    pub fn into_command(self) -> Command {
        self.cmd
    }

    /// Runs the binary to its end on this thread; a run longer than the
    /// bound is killed and fails the test.
    pub fn output(mut self) -> Output {
        let what = format!("{:?}", self.cmd);
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = KillOnDrop(self.cmd.spawn().expect("the binary runs"));
        // The pipes are read on their own threads so that a child writing
        // more than a pipe holds cannot block before it exits.
        let out = child.0.stdout.take().unwrap();
        let err = child.0.stderr.take().unwrap();
        let stdout = std::thread::spawn(move || read_all(out));
        let stderr = std::thread::spawn(move || read_all(err));
        let status =
            child.exit_within(self.limit, &format!("{what} ended within {:?}", self.limit));
        Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }

    /// [`Hookstorm::output`] on the tokio runtime, for async tests.
    pub async fn run(self) -> Output {
        tokio::task::spawn_blocking(move || self.output())
            .await
            .expect("the run of the binary did not panic")
    }

    /// Starts the binary with stdout and stderr piped (unless discarded)
    /// and no stdin; the child is killed on drop (the bound does not apply:
    /// the test ends it).
    pub fn spawn(mut self) -> KillOnDrop {
        let piped = |pipe| if pipe { Stdio::piped() } else { Stdio::null() };
        let child = self
            .cmd
            .stdin(Stdio::null())
            .stdout(piped(self.pipe_stdout))
            .stderr(piped(self.pipe_stderr))
            .spawn()
            .expect("the binary starts");
        KillOnDrop(child)
    }
}

fn read_all(mut pipe: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).unwrap();
    bytes
}

/// A child process, killed and reaped on drop.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Sends `signal` (such as `libc::SIGINT`) to the child.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) only reads its two integer arguments; the child
        // is not reaped before this handle drops, so the pid is still ours.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            sent,
            0,
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        );
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
