local Players = game:GetService("Players")

local gui = Players.LocalPlayer:WaitForChild("PlayerGui")
print("HUD ready in", gui:GetFullName())
