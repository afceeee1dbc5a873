package child

import (
	"errors"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// supervisedSignals are passed on from the init to the command.
var supervisedSignals = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT,
}

// supervise is the reaping init: it starts the command as its child,
// tells the parent (by closing the socket, as a successful exec would),
// forwards signals to it, reaps every process that ends up as its child,
// and returns the command's status (128+N when killed by signal N). As
// PID 1 it catches the signals it forwards, so the kernel delivers them
// to it: unlike a command that is PID 1 itself, a Ctrl-C or SIGTERM
// works whether or not the command handles it.
func supervise(sock *os.File, path string, argv, env []string) (int, error) {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, supervisedSignals...)
	proc, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return 0, err
	}
	_ = WriteMessage(sock, Message{Type: MsgExec})
	sock.Close()
	go func() {
		for sig := range signals {
			_ = proc.Signal(sig)
		}
	}()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return ExitCrunFailed, nil // no children left: cannot happen before the command's end
		}
		if pid != proc.Pid {
			continue // an orphan, reaped
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
}
