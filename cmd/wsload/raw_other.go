//go:build !linux

package main

import (
	"context"
	"errors"
)

const haveEpoll = false

type rawLoad struct{}

func (l *load) connectRaw(context.Context, int, int) error {
	return errors.New("-reader epoll needs Linux; use -reader gorilla")
}

func (r *rawLoad) close() {}
