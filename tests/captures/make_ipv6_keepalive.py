"""A DM session over one keep-alive HTTP/1.1 connection on IPv6 loopback: the device sends its
bodies chunked (and asks 100-continue), the server answers chunked (a chunk extension, a trailer)
and gzip-coded. How ipv6-keepalive-chunked-gzip.pcap was made (see SOURCES.txt)."""
import gzip, http.client, http.server, socket, sys, threading
import omadm

PORT = int(sys.argv[1])
server = omadm.ServerSession("srv")
server.get("./DevInfo/Mod")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = b""
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline(); break
                body += self.rfile.read(size); self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        server.receive(body)
        reply = gzip.compress(server.next_message())
        self.send_response(200)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(reply), 100):
            part = reply[i:i + 100]
            self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
    def log_message(self, *a): pass

class V6(http.server.HTTPServer):
    address_family = socket.AF_INET6

httpd = V6(("::1", PORT), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
tree = omadm.MemoryTree({"./DevInfo/Mod": "X1", "./DevInfo/Man": "Acme", "./DevInfo/Lang": "en",
                         "./DevInfo/DmV": "1.2", "./DevInfo/DevId": "IMEI:42"})
client = omadm.ClientSession("IMEI:42", "srv", f"http://[::1]:{PORT}/", tree)
conn = http.client.HTTPConnection("::1", PORT)
while (body := client.next_message()) is not None:
    conn.request("POST", "/dm", body=iter([body[:50], body[50:]]), encode_chunked=True,
                 headers={"Content-Type": client.content_type, "Expect": "100-continue"})
    r = conn.getresponse()
    client.receive(gzip.decompress(r.read()))  # http.client undoes the chunks, not the gzip
print(client.state)
