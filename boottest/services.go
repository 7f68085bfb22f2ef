package boottest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgconn"
	amqp "github.com/rabbitmq/amqp091-go"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// AppRole is the application's PostgreSQL role and database, RabbitMQ user
// and vhost: what the roles' invenio.env and provisioning name.
const AppRole = "invenio"

// postgresCheck proves the app role authenticates with SCRAM and only from
// web hosts: the server's own view of pg_hba and the role's password, and
// a connection from the test client (no web host) with the right
// password, which the server must refuse.
func (t *Test) postgresCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		q := "SELECT string_agg(type || ' ' || coalesce(address, '') || ' ' || auth_method, ', ') FROM pg_hba_file_rules " +
			"WHERE '" + AppRole + "' = ANY(user_name) AND type LIKE 'host%'; " +
			"SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = '" + AppRole + "'"
		res, err := g.run(ctx, "runuser -u postgres -- psql -XAtq -d postgres -c "+escape.Shell(q))
		fmt.Fprintf(out, "pg_hba rules and scram password: %s\n", strings.TrimSpace(res))
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSpace(res), "\n")
		if len(lines) != 2 || lines[1] != "t" {
			return fmt.Errorf("the app role's password is not a SCRAM verifier: %q", res)
		}
		for _, w := range t.webAddrs() {
			if !strings.Contains(lines[0], w.String()) {
				return fmt.Errorf("no pg_hba rule for web host %s: %s", w, lines[0])
			}
		}
		if strings.Contains(lines[0], "md5") || strings.Contains(lines[0], "trust") || strings.Contains(lines[0], "password ") {
			return fmt.Errorf("a rule for the app role is not scram-sha-256: %s", lines[0])
		}
		return t.postgresRefusesClient(ctx, g, out)
	}
}

// postgresRefusesClient connects from the test client as the app role.
func (t *Test) postgresRefusesClient(ctx context.Context, g *guest, out io.Writer) error {
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=5432 user=%s dbname=%s sslmode=require connect_timeout=15",
		g.addr(), AppRole, AppRole))
	if err != nil {
		return err
	}
	cfg.Password = t.secret["INVENIO_DB_PASSWORD"]
	cfg.DialFunc = t.nw.DialContext
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
		return fmt.Errorf("the app role logged in from %s, which is no web host", t.plan.Client)
	}
	fmt.Fprintf(out, "from %s: %v\n", t.plan.Client, err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28000" {
		return nil
	}
	return fmt.Errorf("from %s the server did not refuse by pg_hba (SQLSTATE 28000) but: %w", t.plan.Client, err)
}

// redisCheck proves Redis answers only after AUTH.
func (t *Test) redisCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		addr := netip.AddrPortFrom(g.addr(), 6379).String()
		got, err := t.redisSay(ctx, addr, "PING")
		fmt.Fprintf(out, "PING without auth: %v %v\n", got, err)
		if err != nil {
			return err
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], "-NOAUTH") {
			return fmt.Errorf("redis answered %q to a PING without auth, want -NOAUTH", got)
		}
		got, err = t.redisSay(ctx, addr, "AUTH "+t.secret["INVENIO_REDIS_PASSWORD"], "PING")
		fmt.Fprintf(out, "AUTH and PING: %v %v\n", got, err)
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0] != "+OK" || got[1] != "+PONG" {
			return fmt.Errorf("redis answered %q to AUTH and PING, want +OK +PONG", got)
		}
		return nil
	}
}

// redisSay sends inline commands to Redis from the test client and
// returns the first line of each answer.
func (t *Test) redisSay(ctx context.Context, addr string, cmds ...string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := t.nw.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReader(c)
	var out []string
	for _, cmd := range cmds {
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			return out, err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return out, err
		}
		out = append(out, strings.TrimSpace(line))
	}
	return out, nil
}

// rabbitUsers lists the RabbitMQ node's users, one a line.
const rabbitUsers = "rabbitmqctl -s list_users | cut -f1"

// rabbitCheck logs in as the app user on its vhost and as guest, and reads
// the node's users (users, started when the host was ready: rabbitmqctl
// boots an Erlang VM of its own, 7-8 s of the guest's CPU under TCG, which
// then runs alongside the host's first checks): guest must not be among
// them.
func (t *Test) rabbitCheck(g *guest, users *pending) check {
	return func(ctx context.Context, out io.Writer) error {
		addr := netip.AddrPortFrom(g.addr(), 5672).String()
		dial := amqp.Config{Dial: func(network, a string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			return t.nw.DialContext(ctx, network, a)
		}, Heartbeat: 10 * time.Second}
		app := fmt.Sprintf("amqp://%s:%s@%s/%s", AppRole, t.secret["INVENIO_RABBITMQ_PASSWORD"], addr, AppRole)
		conn, err := amqp.DialConfig(app, dial)
		if err != nil {
			return fmt.Errorf("the app user on vhost %s: %w", AppRole, err)
		}
		ch, err := conn.Channel()
		if err == nil {
			ch.Close()
		}
		conn.Close()
		if err != nil {
			return fmt.Errorf("the app user cannot open a channel: %w", err)
		}
		fmt.Fprintf(out, "%s on vhost %s: connected, channel opened\n", AppRole, AppRole)
		conn, err = amqp.DialConfig("amqp://guest:guest@"+addr+"/", dial)
		if err == nil {
			conn.Close()
			return errors.New("guest logged in")
		}
		fmt.Fprintf(out, "guest: %v\n", err)
		var ae *amqp.Error
		if !(errors.As(err, &ae) && ae.Code == amqp.AccessRefused || strings.Contains(err.Error(), "ACCESS_REFUSED") ||
			strings.Contains(err.Error(), "username or password not allowed")) {
			return fmt.Errorf("guest was not refused for its credentials but: %w", err)
		}
		// Refused is not enough: the user must not exist at all.
		users, err := users.wait(ctx)
		if err != nil {
			return fmt.Errorf("listing rabbitmq users: %w", err)
		}
		fmt.Fprintf(out, "rabbitmq users: %s\n", strings.Join(strings.Fields(users), " "))
		if slices.Contains(strings.Fields(users), "guest") {
			return errors.New("rabbitmq still has the user guest")
		}
		return nil
	}
}

// eximRefusesCheck asks Exim on the services host, from the test client,
// to relay to an outside address: it must refuse.
func (t *Test) eximRefusesCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		conn, err := t.nw.DialContext(ctx, "tcp", netip.AddrPortFrom(g.addr(), 25).String())
		if err != nil {
			return err
		}
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		c := smtp.NewClient(conn)
		defer c.Close()
		if err := c.Hello("boot-test-client.invalid"); err != nil {
			return err
		}
		if err := c.Mail("boot-test@"+t.senderDomain(), nil); err != nil {
			return err
		}
		err = c.Rcpt("someone@example.org", nil)
		fmt.Fprintf(out, "RCPT TO:<someone@example.org> from %s: %v\n", t.plan.Client, err)
		var se *smtp.SMTPError
		if err == nil {
			return fmt.Errorf("exim accepted to relay for %s", t.plan.Client)
		}
		if errors.As(err, &se) && se.Code >= 500 {
			return nil
		}
		return fmt.Errorf("exim did not refuse with a 5xx: %w", err)
	}
}

// senderDomain is the domain of the test's From addresses.
func (t *Test) senderDomain() string {
	if d := t.site.Mail.SenderDomain; d != "" {
		return d
	}
	return t.urlHost
}
