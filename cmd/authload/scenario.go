package main

import (
	"math/rand/v2"
	"net/http"
)

// op is one kind of request a worker sends.
type op int

const (
	opRegister op = iota
	opLogin
	opRefresh
	opMe
	opGet
	numOps
)

func (o op) String() string {
	return [...]string{"register", "login", "refresh", "me", "get"}[o]
}

// want is the status a successful o answers with.
func (o op) want() int {
	if o == opRegister {
		return http.StatusCreated
	}
	return http.StatusOK
}

// scenario is a named request pattern: the setup it needs and which request
// a worker sends next.
type scenario struct {
	name     string
	accounts bool // register -users accounts in setup
	sessions bool // and log each worker in once, for its own session
	next     func() op
}

// lookupScenario returns the scenario called name.
func lookupScenario(name string) (scenario, bool) {
	always := func(o op) func() op { return func() op { return o } }
	switch name {
	case "register":
		return scenario{name: name, next: always(opRegister)}, true
	case "login":
		return scenario{name: name, accounts: true, next: always(opLogin)}, true
	case "refresh":
		return scenario{name: name, accounts: true, sessions: true, next: always(opRefresh)}, true
	case "me":
		return scenario{name: name, accounts: true, sessions: true, next: always(opMe)}, true
	case "mix":
		return scenario{name: name, accounts: true, sessions: true, next: func() op { return mixOp(rand.IntN(100)) }}, true
	case "get":
		return scenario{name: name, next: always(opGet)}, true
	}
	return scenario{}, false
}

// mixOp maps a percentile roll in [0, 100) to the mix scenario's request:
// 70% me, 20% refresh, 8% login, 2% register, roughly a busy app whose
// clients mostly call with a live access token.
func mixOp(roll int) op {
	switch {
	case roll < 70:
		return opMe
	case roll < 90:
		return opRefresh
	case roll < 98:
		return opLogin
	default:
		return opRegister
	}
}
