module github.com/switchboard-io/switchboard

go 1.26

require (
	github.com/gobwas/httphead v0.1.0
	github.com/gobwas/ws v1.4.0
	github.com/redis/rueidis v1.0.79
	golang.org/x/sys v0.47.0
)

require github.com/gobwas/pool v0.2.1 // indirect
