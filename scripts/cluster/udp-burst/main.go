// The workload of the cluster test (test/e2e/cluster.test.ts): a pod that, for each TCP connection on :8080
// carrying a number N, sends exactly N UDP datagrams to 127.0.0.1:9 (a closed port) inside its own network
// namespace, so the kernel drops exactly N packets with reason NO_SOCKET, and answers "sent N".
// Built static by scripts/tools/cluster-images.sh into a scratch image.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

func burst(n int) (int, error) {
	// Unconnected: the ICMP port unreachable that comes back is not reported to the socket.
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	payload := []byte("kdrop-cluster-test")
	for sent := 0; sent < n; sent++ {
		if _, err := conn.WriteTo(payload, dst); err != nil {
			return sent, err
		}
	}
	return n, nil
}

func main() {
	ln, err := net.Listen("tcp", ":8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("udp-burst: listening on :8080")
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || n < 0 || n > 100000 {
			fmt.Fprintf(c, "error: bad count %q\n", line)
		} else if sent, err := burst(n); err != nil {
			fmt.Fprintf(c, "error: sent %d: %v\n", sent, err)
		} else {
			fmt.Printf("udp-burst: sent %d\n", sent)
			fmt.Fprintf(c, "sent %d\n", sent)
		}
		c.Close()
	}
}
