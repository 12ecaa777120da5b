// node's http: a server and a client in one process, on an ephemeral port.
const http = require('http');
const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/' ? 200 : 404, {'Content-Type': 'text/plain'});
  res.end('node says ' + req.method + ' ' + req.url + '\n');
});
server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  for (const path of ['/', '/missing']) {
    await new Promise((resolve) => {
      http.get({host: '127.0.0.1', port, path}, (res) => {
        let body = '';
        res.on('data', (d) => body += d);
        res.on('end', () => { console.log(res.statusCode, body.trim()); resolve(); });
      });
    });
  }
  server.close(() => console.log('closed'));
});
