package systemd

import (
	"fmt"
	"sort"
	"strings"
)

// dropIns builds each known unit's drop-in.
var dropIns = map[string]func() *Unit{
	unitNginx:         nginxDropIn,
	unitPostgreSQL:    postgresqlDropIn,
	unitRabbitMQ:      rabbitmqDropIn,
	unitRedis:         redisDropIn,
	unitExim4:         exim4DropIn,
	unitOpenSearch:    func() *Unit { return searchDropIn("opensearch", nil, "") },
	unitElasticsearch: func() *Unit { return searchDropIn("elasticsearch", nil, "") },
}

// dropInUnits lists the units dropIn has a drop-in for, sorted.
func dropInUnits() []string {
	names := make([]string, 0, len(dropIns))
	for n := range dropIns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// dropIn returns the drop-in our packages install for one of Debian's (or
// the search engine vendor's) units: hardening that keeps the daemon working,
// plus what our role needs from the unit. Search engine drop-ins from dropIn
// carry no settings; SearchDropIn adds them.
func dropIn(unit string) (Unit, error) {
	build, ok := dropIns[unit]
	if !ok {
		return Unit{}, fmt.Errorf("no drop-in for %q; known units: %s", unit, strings.Join(dropInUnits(), ", "))
	}
	return *build(), nil
}
