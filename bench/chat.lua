-- wrk script of bench/chat.pl: one request per (token, session) pair in
-- turn, so that every session gets the same share of the adds.
--
--   wrk -t1 -cN -dS -s bench/chat.lua URL -- MODE PAIRS OFFSET
--
-- MODE is "chat" (POST /chat "add 2 blue t-shirts") or "add" (POST
-- /cart/add of 2 product:tee_blue_cotton); PAIRS a file of "token sid"
-- lines; OFFSET the pair to start from (bench/chat.pl moves it on by the
-- requests of the runs before, so that no cart line passes its limit).
-- At the end it prints the statuses, the answers that were not a success
-- and, for /chat, the Server-Timing database rounds seen.

local pairs_, mode, n = {}, "chat", 0
local threads = {}

-- globals: done() reads them from each thread with thread:get()
statuses, rounds, failed = {}, {}, 0

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    mode = args[1]
    for line in io.lines(args[2]) do
        local token, sid = line:match("^(%S+)%s+(%S+)$")
        if token then
            table.insert(pairs_, { token = token, sid = sid })
        end
    end
    n = tonumber(args[3]) or 0
end

function request()
    local p = pairs_[n % #pairs_ + 1]
    n = n + 1

    local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. p.token,
    }

    if mode == "chat" then
        return wrk.format("POST", "/chat", headers,
            '{"session_id":"' .. p.sid .. '",'
            .. '"message":"add 2 blue t-shirts"}')
    end

    return wrk.format("POST", "/cart/add", headers,
        '{"session_id":"' .. p.sid .. '",'
        .. '"product_id":"product:tee_blue_cotton","quantity":2}')
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1

    if status ~= 200 or (mode == "chat"
                         and not body:find('"success":true', 1, true))
    then
        failed = failed + 1
        if failed <= 3 then
            io.stderr:write("not a success: ", status, " ", body, "\n")
        end
    end

    local st = headers["Server-Timing"] or headers["server-timing"]
    if st then
        local r = st:match('round trips";dur=(%d+)')
        if r then
            rounds[r] = (rounds[r] or 0) + 1
        end
    end
end

function done(summary, latency, requests)
    for _, t in ipairs(threads) do
        local s, r = t:get("statuses"), t:get("rounds")
        for k, v in pairs(s) do
            io.write("status ", k, " ", v, "\n")
        end
        for k, v in pairs(r) do
            io.write("server-timing rounds ", k, " ", v, "\n")
        end
        io.write("not a success ", t:get("failed"), "\n")
    end
end
