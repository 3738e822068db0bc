local MathUtil = {}

function MathUtil.lerp(a: number, b: number, t: number): number
	return a + (b - a) * t
end

function MathUtil.round(x: number, step: number): number
	return math.floor(x / step + 0.5) * step
end

return MathUtil
