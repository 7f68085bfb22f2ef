package apppkg

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// updateRecords gives the relocated commands their new hashes and sizes in
// the RECORD files of the tree's dist-info directories, so that the
// installed files match their records (pip check, pip uninstall).
// changed maps canonical tree paths (entry.key) to new contents. Lines are rewritten one by one;
// the others are kept byte for byte.
func (o Options) updateRecords(l *layout, changed map[string][]byte) error {
	if len(changed) == 0 {
		return nil
	}
	site := "lib/python" + o.Python + "/site-packages"
	for i, e := range l.entries {
		if !strings.HasSuffix(e.key, ".dist-info/RECORD") || !strings.HasPrefix(e.key, site+"/") {
			continue
		}
		var out strings.Builder
		for line := range strings.Lines(string(e.Body)) {
			nl, err := recordLine(line, site, changed)
			if err != nil {
				return fmt.Errorf("%s: %w", e.src, err)
			}
			out.WriteString(nl)
		}
		l.entries[i].Body = []byte(out.String())
	}
	return nil
}

// recordLine returns one RECORD line, with the hash and size of the file
// it names if that file changed.
func recordLine(line, site string, changed map[string][]byte) (string, error) {
	body := strings.TrimRight(line, "\r\n")
	if body == "" {
		return line, nil
	}
	rec, err := csv.NewReader(strings.NewReader(body)).Read()
	if err != nil || len(rec) != 3 {
		return "", fmt.Errorf("record %q: want path,hash,size", body)
	}
	b, ok := changed[path.Join(site, rec[0])]
	if !ok {
		return line, nil
	}
	sum := sha256.Sum256(b)
	var w strings.Builder
	cw := csv.NewWriter(&w)
	if err := cw.Write([]string{rec[0], "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]), strconv.Itoa(len(b))}); err != nil {
		return "", err
	}
	cw.Flush()
	return strings.TrimSuffix(w.String(), "\n") + line[len(body):], nil
}
