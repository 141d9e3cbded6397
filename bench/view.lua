-- wrk script: the widget's view beacon, POST /api/v1/views with a text/plain JSON body (what
-- navigator.sendBeacon sends). args: <body>, e.g. {"polls":[1]}.

function init(args)
  body = args[1]
end

function request()
  return wrk.format("POST", "/api/v1/views", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end
