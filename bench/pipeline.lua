-- wrk script: send `depth` requests at once on each connection (HTTP/1.1
-- pipelining), as TechEmpower's pipelined plaintext test does.
init = function(args)
  local depth = tonumber(args[1]) or 1
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format()
  end
  pipelined = table.concat(requests)
end

request = function()
  return pipelined
end
