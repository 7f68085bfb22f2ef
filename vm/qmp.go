package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmpTimeout bounds one QMP conversation.
const qmpTimeout = 5 * time.Second

// qmpReply is a QMP message: a greeting, an event, or a command's answer.
type qmpReply struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// ctrlAltDel is the QMP command that presses Ctrl-Alt-Del.
const ctrlAltDel = `{"execute":"send-key","arguments":{"keys":[` +
	`{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]}}`

// qmpCommand connects to the QMP socket, negotiates capabilities and runs
// one command: a command name without arguments, or a JSON object.
func qmpCommand(socket, command string) error {
	conn, err := net.DialTimeout("unix", socket, qmpTimeout)
	if err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(qmpTimeout)); err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	dec, enc := json.NewDecoder(conn), json.NewEncoder(conn)
	var greeting qmpReply
	if err := dec.Decode(&greeting); err != nil {
		return fmt.Errorf("qmp: no greeting: %w", err)
	}
	if greeting.QMP == nil {
		return errors.New("qmp: no greeting")
	}
	for _, c := range []string{"qmp_capabilities", command} {
		if err := enc.Encode(qmpMessage(c)); err != nil {
			return fmt.Errorf("qmp: %s: %w", c, err)
		}
		if err := qmpAnswer(dec, c); err != nil {
			return err
		}
	}
	return nil
}

// qmpMessage turns a command name or a JSON object into a message.
func qmpMessage(c string) any {
	if json.Valid([]byte(c)) {
		return json.RawMessage(c)
	}
	return map[string]string{"execute": c}
}

// qmpAnswer reads messages until the answer to command, skipping events.
func qmpAnswer(dec *json.Decoder, command string) error {
	for {
		var r qmpReply
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("qmp: %s: %w", command, err)
		}
		switch {
		case r.Error != nil:
			return fmt.Errorf("qmp: %s: %s: %s", command, r.Error.Class, r.Error.Desc)
		case r.Return != nil:
			return nil
		}
	}
}
