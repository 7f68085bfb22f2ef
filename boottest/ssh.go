package boottest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// User is the image's default user (cloud-init's, with sudo), whom the
// seed's SSH key logs in.
const User = "debian"

// sshKey is the boot test's own SSH key: made for the run, never written.
type sshKey struct {
	signer ssh.Signer
	// Authorized is the public key in authorized_keys form.
	Authorized string
}

func newSSHKey() (sshKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return sshKey{}, fmt.Errorf("ssh key: %w", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return sshKey{}, fmt.Errorf("ssh key: %w", err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))) + " invenio-infra-boot-test"
	return sshKey{signer: s, Authorized: pub}, nil
}

// consoleHostKey accepts a host key only when its SHA256 fingerprint is
// among those cloud-init printed on the guest's serial console (the
// "SSH HOST KEY FINGERPRINTS" block): the way an operator checks a new VM.
func consoleHostKey(console func() string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		fp := ssh.FingerprintSHA256(key)
		if strings.Contains(console(), fp) {
			return nil
		}
		return fmt.Errorf("host key %s %s is not among the fingerprints on the serial console", key.Type(), fp)
	}
}

// dialSSH opens an SSH connection to addr (host:22) through dial.
func dialSSH(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	addr string, key sshKey, hostKey ssh.HostKeyCallback) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User: User, Auth: []ssh.AuthMethod{ssh.PublicKeys(key.signer)},
		HostKeyCallback: hostKey, Timeout: 20 * time.Second,
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// run runs a shell command over c and returns its standard output; the
// error carries the exit status and standard error. ctx ends the session.
func run(ctx context.Context, c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		return stdout.String(), fmt.Errorf("%s: %w", firstWord(cmd), ctx.Err())
	}
	if err != nil {
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			return stdout.String(), fmt.Errorf("%s: exit status %d: %s", firstWord(cmd), exit.ExitStatus(), strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), fmt.Errorf("%s: %w", firstWord(cmd), err)
	}
	return stdout.String(), nil
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return s
	}
	if f[0] == "sudo" && len(f) > 1 {
		return f[0] + " " + f[1]
	}
	return f[0]
}
