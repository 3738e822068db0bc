local Players = game:GetService("Players")
local RunService = game:GetService("RunService")

local camera = workspace.CurrentCamera
local player = Players.LocalPlayer

RunService.RenderStepped:Connect(function()
	if player.Character then
		camera.FieldOfView = 70
	end
end)
