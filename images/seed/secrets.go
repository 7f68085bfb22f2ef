package seed

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// SecretLength is the length of a generated secret value.
const SecretLength = 48

// minSecretLength is the shortest value a secrets file may hold; the
// invenio-secrets helper on the hosts checks the same.
const minSecretLength = 16

// secretAlphabet is safe in URLs, shell assignments and config files.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// SecretValueClass is the characters a secret value may hold, as a regular
// expression class: RFC 3986's unreserved characters, which a URL holds
// as they are (the secrets go into the redis:// and amqp:// URLs of
// invenio.env unencoded). invenio-secrets check tests the same class.
const SecretValueClass = "[A-Za-z0-9._~-]"

var (
	keyRe   = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	valueRe = regexp.MustCompile(`^` + SecretValueClass + `*$`)
)

// Secrets are the KEY=VALUE pairs of an instance's secrets file
// (/etc/invenio/secrets.env), in file order. Printing Secrets with fmt
// never shows a value.
type Secrets struct {
	keys   []string
	values map[string]string
}

// GenerateSecrets returns a random value of SecretLength characters from
// [A-Za-z0-9] for each key, read from crypto/rand.
func GenerateSecrets(keys []string) (Secrets, error) {
	return generateSecrets(keys, rand.Reader)
}

func generateSecrets(keys []string, r io.Reader) (Secrets, error) {
	s := Secrets{values: map[string]string{}}
	for _, k := range keys {
		if !keyRe.MatchString(k) {
			return Secrets{}, fmt.Errorf("secret key %q: want upper-case letters, digits and _", k)
		}
		v, err := randomValue(r, SecretLength)
		if err != nil {
			return Secrets{}, fmt.Errorf("generating %s: %w", k, err)
		}
		s.set(k, v)
	}
	return s, nil
}

// randomValue draws n characters of secretAlphabet uniformly from r,
// rejecting bytes that would bias the draw.
func randomValue(r io.Reader, n int) (string, error) {
	const limit = 256 - 256%len(secretAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, secretAlphabet[int(b)%len(secretAlphabet)])
			}
		}
	}
	return string(out), nil
}

func (s *Secrets) set(k, v string) {
	if _, ok := s.values[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.values[k] = v
}

// ParseSecrets reads a secrets file: KEY=VALUE lines, comments (#) and
// blank lines. Every key of required must be present with a value of at
// least 16 characters; other keys are kept. Errors name lines and keys,
// never values.
func ParseSecrets(data []byte, required []string) (Secrets, error) {
	s := Secrets{values: map[string]string{}}
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := s.parseLine(line); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
		}
	}
	for _, k := range required {
		v, ok := s.values[k]
		switch {
		case !ok || v == "":
			errs = append(errs, fmt.Errorf("%s is missing", k))
		case len(v) < minSecretLength:
			errs = append(errs, fmt.Errorf("%s is shorter than %d characters", k, minSecretLength))
		}
	}
	return s, errors.Join(errs...)
}

func (s *Secrets) parseLine(line string) error {
	k, v, ok := strings.Cut(line, "=")
	switch {
	case !ok:
		return errors.New("not KEY=VALUE")
	case !keyRe.MatchString(k):
		return fmt.Errorf("key %q: want upper-case letters, digits and _", k)
	case !valueRe.MatchString(v):
		return fmt.Errorf("the value of %s has characters other than letters, digits and ._~- (a URL holds the value as it is)", k)
	}
	if _, dup := s.values[k]; dup {
		return fmt.Errorf("%s is set twice", k)
	}
	s.set(k, v)
	return nil
}

// Keys returns the keys in file order.
func (s Secrets) Keys() []string { return slices.Clone(s.keys) }

// Values returns the values in key order, for checks that look for leaks.
func (s Secrets) Values() []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = s.values[k]
	}
	return out
}

// Len returns the number of keys.
func (s Secrets) Len() int { return len(s.keys) }

// Env returns the secrets file's text: a comment, then KEY=VALUE lines.
func (s Secrets) Env() []byte {
	var b bytes.Buffer
	b.WriteString("# InvenioRDM secrets, made by invenio-infra. Keep this file 0640 root:invenio.\n")
	for _, k := range s.keys {
		fmt.Fprintf(&b, "%s=%s\n", k, s.values[k])
	}
	return b.Bytes()
}

// String names the keys and redacts the values.
func (s Secrets) String() string {
	return fmt.Sprintf("Secrets{%s: redacted}", strings.Join(s.keys, ", "))
}

// GoString redacts the values too (fmt's %#v).
func (s Secrets) GoString() string { return "seed." + s.String() }

// WriteNewFile writes s to path with mode 0600. It refuses to replace an
// existing file: rotating secrets makes encrypted data unreadable.
func WriteNewFile(path string, s Secrets) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(s.Env())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
