package site

import (
	"errors"
	"fmt"
	"slices"
)

// redisPolicies are the values of Redis' maxmemory-policy.
var redisPolicies = []string{
	"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
	"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
}

// sizing checks a Sizing at path: the site's, which defaults have completed,
// or an instance's overrides, where a field the file does not write is unset.
func (v *validator) sizing(path string, z *Sizing) {
	v.count(path+".ui.processes", z.UI.Processes, 1, maxWorkers)
	v.count(path+".ui.threads", z.UI.Threads, 1, maxWorkers)
	v.count(path+".api.processes", z.API.Processes, 1, maxWorkers)
	v.count(path+".api.threads", z.API.Threads, 1, maxWorkers)
	v.count(path+".celery.concurrency", z.Celery.Concurrency, 1, maxWorkers)
	pg := z.PostgreSQL
	v.count(path+".postgresql.max_connections", pg.MaxConnections, 10, 10000)
	v.size(path+".postgresql.shared_buffers", pg.SharedBuffers, postgresSize)
	v.size(path+".postgresql.effective_cache_size", pg.EffectiveCacheSize, postgresSize)
	v.size(path+".postgresql.work_mem", pg.WorkMem, postgresSize)
	v.size(path+".postgresql.maintenance_work_mem", pg.MaintenanceWorkMem, postgresSize)
	v.size(path+".search.heap", z.Search.Heap, heapSize)
	v.size(path+".redis.maxmemory", z.Redis.MaxMemory, redisSize)
	v.size(path+".redis.sessions_maxmemory", z.Redis.SessionsMaxMemory, redisSize)
	v.size(path+".upload_limit", z.UploadLimit, nginxSize)
	p := z.Redis.Policy
	if (p != "" || v.ps.written(path+".redis.policy")) && !slices.Contains(redisPolicies, p) {
		v.bad(path+".redis.policy", p, errors.New("is not a Redis maxmemory-policy"), suggest(p, redisPolicies))
	}
}

// maxWorkers bounds processes, threads and concurrency.
const maxWorkers = 256

// count checks a number the file sets, which must be from least to most.
func (v *validator) count(path string, n, least, most int) {
	if n == 0 && !v.ps.written(path) {
		return
	}
	if n < least {
		v.errAt(path, fmt.Sprintf("write %d or more, or leave %s out to use the default", least, lastKey(path)),
			"%s is %d; it must be at least %d", path, n, least)
	} else if n > most {
		v.errAt(path, fmt.Sprintf("write at most %d, or leave %s out to use the default", most, lastKey(path)),
			"%s is %d; it must be at most %d", path, n, most)
	}
}

// size checks a size the file sets in the given notation.
func (v *validator) size(path, s string, n sizeNotation) {
	if s == "" && !v.ps.written(path) {
		return
	}
	if _, err := n.parse(s); err != nil {
		v.add(v.ps.at(path), n.hint(s), "%s %q is not %s: it %s", path, s, n.what, err)
	}
}
