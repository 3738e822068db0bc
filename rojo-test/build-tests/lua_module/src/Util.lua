local Util = {}

function Util.clamp01(x)
	return math.clamp(x, 0, 1)
end

return Util
