// brook-probe: the one program in the node's only image (tools/cluster/image.py packs it, static, into an OCI archive).
//
// Without arguments it is the pod sandbox's "pause" process: it sleeps until SIGTERM or SIGINT, so containerd needs
// no image from a registry. With arguments it is what tests/k8s_node runs in a pod:
//
//	brook-probe serve ADDR   answer every HTTP request on ADDR with "brook-probe <hostname>" (logs one line at start)
//	brook-probe echo WORDS   print WORDS (what `kubectl exec` runs)
//	brook-probe id           print the process's uid and gid (the pod's runAsUser seen from inside)
//	brook-probe resolve NAME print NAME's addresses, one a line, through the pod's resolv.conf (the cluster DNS)
//	brook-probe get URL      print the body of an HTTP GET of URL (a Service reached from inside a pod)
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		waitForSignal()
		return
	}
	switch os.Args[1] {
	case "serve":
		if len(os.Args) != 3 {
			fail("usage: brook-probe serve ADDR")
		}
		serve(os.Args[2])
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
	case "id":
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	case "resolve":
		if len(os.Args) != 3 {
			fail("usage: brook-probe resolve NAME")
		}
		addrs, err := net.LookupHost(os.Args[2])
		if err != nil {
			fail(err.Error())
		}
		fmt.Println(strings.Join(addrs, "\n"))
	case "get":
		if len(os.Args) != 3 {
			fail("usage: brook-probe get URL")
		}
		get(os.Args[2])
	default:
		fail("unknown command " + os.Args[1] + " (serve, echo, id, resolve, get; none: pause)")
	}
}

func waitForSignal() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

func serve(addr string) {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "brook-probe %s\n", host)
	})
	go func() {
		waitForSignal()
		os.Exit(0)
	}()
	fmt.Printf("brook-probe serving on %s as uid %d\n", addr, os.Getuid())
	if err := http.ListenAndServe(addr, nil); err != nil {
		fail(err.Error())
	}
}

func get(url string) {
	client := http.Client{Timeout: 10 * time.Second}
	response, err := client.Get(url)
	if err != nil {
		fail(err.Error())
	}
	defer response.Body.Close()
	if _, err := io.Copy(os.Stdout, response.Body); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}
